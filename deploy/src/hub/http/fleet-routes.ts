import type { FastifyInstance } from 'fastify';
import type { BlobStore, RecordStore } from '../../store/types.js';
import { sendError } from './errors.js';

/**
 * What operators read of the fleet: the device table and each camera's latest drift (both from
 * MQTT). Rollouts have their own routes (rollout-routes.ts).
 */
export function registerFleetRoutes(app: FastifyInstance, deps: { records: RecordStore; blobs: BlobStore }): void {
  const operator = { config: { access: 'operator' as const } };
  app.get('/api/v1/devices', operator, async () => ({ devices: await deps.records.listFleetDevices() }));
  // ?device=<id> one device's cameras; ?drifted=true the alerts only.
  app.get<{ Querystring: { device?: string; drifted?: string } }>('/api/v1/drift', operator, async (request, reply) => {
    const { device, drifted } = request.query;
    if (drifted !== undefined && drifted !== 'true' && drifted !== 'false') return sendError(reply, 400, 'E_QUERY', `drifted must be true or false, got ${JSON.stringify(drifted)}`);
    if (device !== undefined && device.length === 0) return sendError(reply, 400, 'E_QUERY', 'device must not be empty');
    const cameras = await deps.records.listDrift({ ...(device !== undefined && { deviceId: device }), ...(drifted !== undefined && { drifted: drifted === 'true' }) });
    return { cameras };
  });
}
