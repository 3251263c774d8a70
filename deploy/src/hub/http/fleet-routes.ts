import type { FastifyInstance } from 'fastify';
import type { BlobStore, RecordStore } from '../../store/types.js';

/** What operators read of the fleet: the device table (from MQTT). Rollouts have their own routes (rollout-routes.ts). */
export function registerFleetRoutes(app: FastifyInstance, deps: { records: RecordStore; blobs: BlobStore }): void {
  const operator = { config: { access: 'operator' as const } };
  app.get('/api/v1/devices', operator, async () => ({ devices: await deps.records.listFleetDevices() }));
}
