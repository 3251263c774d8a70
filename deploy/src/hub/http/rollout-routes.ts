import type { FastifyInstance } from 'fastify';
import { KestrelError } from '@kestrel/core';
import type { BlobStore, RecordStore } from '../../store/types.js';
import type { ReleaseService } from '../../release/release-service.js';
import { readRollouts } from '../../rollout/records.js';
import { publicRollout, RolloutUnavailableError, type RolloutDriver } from '../../rollout/driver.js';
import { checkRolloutRequest } from '../../rollout/request.js';
import { sendError } from './errors.js';

export interface RolloutRoutesDeps {
  records: RecordStore;
  blobs: BlobStore;
  releases: ReleaseService;
  /** Absent when the hub follows no broker: it can show rollouts but not run them. */
  driver?: RolloutDriver;
}

/**
 * Rollouts run in the hub (any replica; one drives each through its lease): operators start one
 * with manifests they signed, follow it, and abort it.
 */
export function registerRolloutRoutes(app: FastifyInstance, deps: RolloutRoutesDeps): void {
  const operator = { config: { access: 'operator' as const } };

  app.get('/api/v1/rollouts', operator, async () => {
    const stored = (await deps.records.listRollouts({ limit: 100 })).map(publicRollout);
    // Rollouts run by a `deploy push` of earlier versions live as blobs; they stay listed.
    const legacy = await readRollouts(deps.blobs);
    return { rollouts: [...stored, ...legacy].sort((a, b) => b.startedAt - a.startedAt) };
  });

  app.get<{ Params: { id: string } }>('/api/v1/rollouts/:id', operator, async (request, reply) => {
    const rollout = await deps.records.getRollout(request.params.id);
    if (rollout) return publicRollout(rollout);
    const legacy = (await readRollouts(deps.blobs)).find((r) => r.id === request.params.id);
    return legacy ?? sendError(reply, 404, 'E_NOT_FOUND', `no rollout ${request.params.id}`);
  });

  app.post('/api/v1/rollouts', operator, async (request, reply) => {
    if (!deps.driver) return sendError(reply, 503, 'E_ROLLOUT', 'this hub follows no MQTT broker (mqtt.enabled: false), so it cannot run rollouts');
    try {
      const body = await checkRolloutRequest(request.body, (id) => deps.releases.get(id), Date.now());
      const registered = new Set((await deps.records.listTokens('device')).filter((t) => t.revokedAt === undefined).map((t) => t.name));
      const rollout = await deps.driver.create(body, request.caller!.name, registered);
      return reply.code(202).send(rollout);
    } catch (err) {
      if (err instanceof RolloutUnavailableError) return sendError(reply, 503, err.code, err.message);
      if (err instanceof KestrelError && err.code === 'E_ROLLOUT') return sendError(reply, 400, err.code, err.message);
      throw err;
    }
  });

  app.post<{ Params: { id: string } }>('/api/v1/rollouts/:id/abort', operator, async (request, reply) => {
    const outcome = await deps.records.requestRolloutAbort(request.params.id, request.caller!.name, Date.now());
    if (outcome === 'missing') return sendError(reply, 404, 'E_NOT_FOUND', `no rollout ${request.params.id}`);
    if (outcome === 'finished') return sendError(reply, 409, 'E_ROLLOUT_FINISHED', `rollout ${request.params.id} has finished already; kestrel deploy rollback sends devices back`);
    // The replica driving it acts at its next step: rollbacks go out, later waves are not started.
    return reply.code(202).send({ id: request.params.id, abort: 'requested' });
  });
}
