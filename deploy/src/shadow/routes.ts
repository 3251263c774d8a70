import type { FastifyInstance } from 'fastify';
import { randomBytes } from 'node:crypto';
import { KestrelError, outgoing, topics, type ShadowSet } from '@kestrel/core';
import type { RecordStore } from '../store/types.js';
import type { ReleaseService } from '../release/release-service.js';
import type { RolloutMqtt } from '../rollout/fleet-view.js';
import { sendError } from '../hub/http/errors.js';
import { checkShadowRequest } from './request.js';
import { summarizeShadow } from './aggregate.js';

export interface ShadowRoutesDeps {
  records: RecordStore;
  releases: ReleaseService;
  prefix: string;
  /** Absent when the hub follows no broker: shadows can be read but not started or stopped. */
  mqtt?: Pick<RolloutMqtt, 'publishAsync'>;
  now?: () => number;
}

/**
 * Shadow comparisons (A/B): operators start one with a manifest they signed, read its per-release
 * report (each device's latest `shadow` report summed up), and stop it. The order goes to each
 * target on its retained `model/shadow`; the stop replaces it there, so a device that was away
 * hears the latest word when it comes back.
 */
export function registerShadowRoutes(app: FastifyInstance, deps: ShadowRoutesDeps): void {
  const operator = { config: { access: 'operator' as const } };
  const now = () => (deps.now ?? Date.now)();

  const publish = async (devices: readonly string[], order: ShadowSet) => {
    for (const device of devices) {
      const message = outgoing(topics(deps.prefix, device), 'shadowSet', order);
      await deps.mqtt!.publishAsync(message.topic, message.payload, { qos: message.qos, retain: message.retain });
    }
  };

  app.get('/api/v1/shadows', operator, async () => {
    const shadows = await deps.records.listShadows({ limit: 100 });
    return { shadows: await Promise.all(shadows.map(async (s) => summarizeShadow(s, await deps.records.listShadowReports(s.id), now()))) };
  });

  app.get<{ Params: { id: string } }>('/api/v1/shadows/:id', operator, async (request, reply) => {
    const shadow = await deps.records.getShadow(request.params.id);
    if (!shadow) return sendError(reply, 404, 'E_NOT_FOUND', `no shadow ${request.params.id} (kestrel deploy shadow status lists them)`);
    return summarizeShadow(shadow, await deps.records.listShadowReports(shadow.id), now());
  });

  app.post('/api/v1/shadows', operator, async (request, reply) => {
    if (!deps.mqtt) return sendError(reply, 503, 'E_SHADOW', 'this hub follows no MQTT broker (mqtt.enabled: false), so it cannot reach devices');
    try {
      const body = await checkShadowRequest(request.body, (id) => deps.releases.get(id), now());
      const registered = new Set((await deps.records.listTokens('device')).filter((t) => t.revokedAt === undefined).map((t) => t.name));
      let targets: string[];
      if (body.to === 'all') {
        targets = (await deps.records.listFleetDevices()).map((d) => d.deviceId).filter((d) => registered.has(d));
        if (targets.length === 0) throw new KestrelError('E_SHADOW', 'no target devices (no device with a hub token has reported on the broker; name them with "to")');
      } else {
        const unknown = body.to.filter((d) => !registered.has(d));
        if (unknown.length) throw new KestrelError('E_SHADOW', `${unknown.map((d) => `"${d}"`).join(', ')}: no active device token on this hub, so it could not download the candidate (kestrel hub device add <id>)`);
        targets = [...new Set(body.to)];
      }
      const id = `sh-${new Date(now()).toISOString().slice(0, 10).replaceAll('-', '')}-${randomBytes(3).toString('hex')}`;
      const record = { id, release: body.release, share: body.share, until: body.until, createdAt: now(), createdBy: request.caller!.name, targets, manifest: body.manifest };
      await deps.records.insertShadow(record);
      await publish(targets, { schema: 1, action: 'run', id, manifest: body.manifest, share: body.share, until: body.until });
      return reply.code(202).send(summarizeShadow(record, [], now()));
    } catch (err) {
      if (err instanceof KestrelError && err.code === 'E_SHADOW') return sendError(reply, 400, err.code, err.message);
      throw err;
    }
  });

  app.post<{ Params: { id: string } }>('/api/v1/shadows/:id/stop', operator, async (request, reply) => {
    if (!deps.mqtt) return sendError(reply, 503, 'E_SHADOW', 'this hub follows no MQTT broker (mqtt.enabled: false), so it cannot reach devices');
    const outcome = await deps.records.stopShadow(request.params.id, request.caller!.name, now());
    if (outcome === 'missing') return sendError(reply, 404, 'E_NOT_FOUND', `no shadow ${request.params.id} (kestrel deploy shadow status lists them)`);
    const shadow = (await deps.records.getShadow(request.params.id))!;
    // Sent again on a second stop too: a publish lost the first time gets another chance.
    await publish(shadow.targets, { schema: 1, action: 'stop', id: shadow.id });
    return reply.code(outcome === 'stopped' ? 202 : 200).send(summarizeShadow(shadow, await deps.records.listShadowReports(shadow.id), now()));
  });
}
