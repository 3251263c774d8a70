import type { FastifyInstance } from 'fastify';
import mqtt, { type MqttClient } from 'mqtt';
import { readFileSync } from 'node:fs';
import { parseBind } from '@kestrel/config/bind';
import type { Logger } from '@kestrel/core';
import { closeStores, openStores, removeOrphanBlobs, type HubStores } from '../store/open.js';
import type { HubConfig } from '@kestrel/config/schema/hub';
import { describeBlobs, describeRecords } from '@kestrel/config/schema/hub-stores';
import { FleetListener, type FleetStats } from './fleet.js';
import { leaseHolder, replicaName } from './replica.js';
import { registerRolloutRoutes } from './http/rollout-routes.js';
import { registerShadowRoutes } from '../shadow/routes.js';
import { RolloutDriver } from '../rollout/driver.js';
import { buildHubApp } from './http/app.js';
import type { DeclaredRoute } from './http/access.js';
import { SampleIngest } from './ingest.js';
import { registerUiRoutes } from './http/ui-routes.js';
import { ReviewService } from '../review/service.js';
import { registerReleaseRoutes } from '../release/routes.js';
import { ReleaseService } from '../release/release-service.js';

/**
 * The hub's one owner: opens the stores (repairing blobs a crash left behind), serves the HTTP
 * API and follows the fleet over MQTT; stop() undoes it in reverse.
 */
export class Hub {
  private stores?: HubStores;
  private app?: FastifyInstance;
  private fleet?: FleetListener;
  private rollouts?: { driver: RolloutDriver; mqtt: MqttClient };
  /** `http(s)://host:port` once listening. */
  url = '';

  constructor(
    private readonly config: HubConfig,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    const { config, logger } = this;
    const stores = await openStores(config);
    this.stores = stores;
    const orphans = await removeOrphanBlobs(stores);
    if (orphans.removed) logger.warn({ removed: orphans.removed }, 'removed sample images without records (an interrupted write)');
    if (orphans.young) logger.info({ kept: orphans.young }, 'sample images without records younger than a day kept (another replica may be storing them); a later start removes them');
    const ingest = new SampleIngest({ ...stores, limits: config.limits, logger });
    const review = new ReviewService(stores.records, { classes: config.review.classes, maxLabels: config.limits.maxDetections });
    this.app = buildHubApp({ ...stores, ingest, review, logger, bodyLimit: config.limits.maxBodyBytes, timeouts: config.timeouts, tls: config.tls });
    // Model releases and their artifacts (HTTP Range), behind the same device/operator tokens.
    const releases = new ReleaseService({ blobs: stores.blobs, artifactBaseUrl: `${config.tls ? 'https' : 'http'}://${config.bind}` });
    registerReleaseRoutes(this.app, { releases, blobs: stores.blobs });
    const replica = replicaName(config.replica);
    if (config.mqtt.enabled) this.rollouts = this.rolloutDriver(stores, releases, replica);
    registerRolloutRoutes(this.app, { records: stores.records, blobs: stores.blobs, releases, driver: this.rollouts?.driver });
    // Shadow orders go out through the rollouts' client (the hub's word on each device's retained topics).
    registerShadowRoutes(this.app, { records: stores.records, releases, prefix: config.mqtt.prefix, ...(this.rollouts && { mqtt: this.rollouts.mqtt }) });
    // Per replica (each answers for itself behind a load balancer): how many fleet messages it handled.
    this.app.get('/api/v1/replica', { config: { access: 'operator' } }, async () => ({ replica, fleet: this.fleet?.stats() ?? null }));
    // The review UI, from the same server and port as the API it calls.
    await registerUiRoutes(this.app);
    const { host, port } = parseBind(config.bind);
    await this.app.listen({ host, port });
    const address = this.app.server.address();
    const actualPort = typeof address === 'object' && address ? address.port : port;
    this.url = `${config.tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${actualPort}`;
    if (config.mqtt.enabled) {
      this.fleet = new FleetListener({ config: config.mqtt, replica, records: stores.records, ingest, logger: logger.child({ part: 'fleet' }) });
      this.fleet.start();
      // Not awaited: a broker that is down must not keep the HTTP API from serving.
      this.rollouts!.driver.start().catch((err: Error) => logger.error({ err: err.message }, 'rollouts: could not follow the fleet'));
    }
    logger.info({ url: this.url, records: describeRecords(config.records), blobs: describeBlobs(config.blobs), mqtt: config.mqtt.enabled }, 'hub started');
  }

  /** Every route the HTTP API serves and who may call it. */
  routes(): DeclaredRoute[] {
    return [...(this.app?.declaredRoutes ?? [])];
  }

  fleetStats(): FleetStats | undefined {
    return this.fleet?.stats();
  }

  /**
   * Rollouts need the whole fleet's retained status and model state, on every replica: their own
   * client with plain (not shared) subscriptions and a clean session, beside the fleet listener's.
   */
  private rolloutDriver(stores: HubStores, releases: ReleaseService, replica: string): { driver: RolloutDriver; mqtt: MqttClient } {
    const { mqtt: m, rollouts } = this.config;
    const client = mqtt.connect(m.url, {
      clientId: `${m.clientId}-${replica}-rollouts`,
      clean: true,
      username: m.username,
      password: m.password,
      reconnectPeriod: m.reconnect.minMs,
      connectTimeout: 10_000,
      ...(m.ca ? { ca: readFileSync(m.ca) } : {}),
      rejectUnauthorized: m.rejectUnauthorized,
    });
    client.on('error', (err) => this.logger.warn({ err: err.message }, 'rollouts: mqtt error'));
    const driver = new RolloutDriver({
      records: stores.records,
      mqtt: client,
      prefix: m.prefix,
      logger: this.logger.child({ part: 'rollouts' }),
      holder: leaseHolder(replica),
      leaseMs: rollouts.leaseSeconds * 1000,
      tickMs: rollouts.tickMs,
      releaseIdOf: async (sha) => (await releases.findBySha(sha))?.id,
    });
    return { driver, mqtt: client };
  }

  async stop(): Promise<void> {
    await this.rollouts?.driver.stop();
    await this.rollouts?.mqtt.endAsync();
    await this.fleet?.stop();
    await this.app?.close();
    if (this.stores) await closeStores(this.stores);
    this.logger.info('hub stopped');
  }
}
