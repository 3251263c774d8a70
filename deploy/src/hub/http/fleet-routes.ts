import type { FastifyInstance } from 'fastify';
import type { BlobStore, RecordStore } from '../../store/types.js';
import { readRollouts } from '../../rollout/records.js';

/** What operators read of the fleet: the device table (from MQTT) and the stored rollout records. */
export function registerFleetRoutes(app: FastifyInstance, deps: { records: RecordStore; blobs: BlobStore }): void {
  const operator = { config: { access: 'operator' as const } };
  app.get('/api/v1/devices', operator, async () => ({ devices: await deps.records.listFleetDevices() }));
  // Rollouts run in `kestrel deploy push`, which writes these records as it goes; the hub only reads them.
  app.get('/api/v1/rollouts', operator, async () => ({ rollouts: (await readRollouts(deps.blobs)).reverse() }));
}
