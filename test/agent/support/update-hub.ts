// A real hub for update tests: fastify with the release routes, a folder blob store, a signing key.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPrivateKey } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { generateReleaseKeyPair, signManifest, type ReleaseKeyPair, type ReleaseManifest } from '@kestrel/core';
import { FsBlobStore } from '@kestrel/deploy/store/fs-blobs';
import { ReleaseService, registerReleaseRoutes } from '@kestrel/deploy/release/index';
import { freePort } from '../../support/ports.js';

export interface TestHub {
  app: FastifyInstance;
  url: string;
  port: number;
  blobs: FsBlobStore;
  releases: ReleaseService;
  keys: ReleaseKeyPair;
  /** A manifest issued for a release, then changed and signed again (artifacts the hub would never release). */
  reissue(manifest: ReleaseManifest, change: Partial<ReleaseManifest>): ReleaseManifest;
  close(): Promise<void>;
}

export async function startTestHub(): Promise<TestHub> {
  const keys = generateReleaseKeyPair();
  const privateKey = createPrivateKey(keys.privateKeyPem);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const blobs = new FsBlobStore(mkdtempSync(join(tmpdir(), 'kestrel-hub-blobs-')));
  const releases = new ReleaseService({ blobs, artifactBaseUrl: url, signingKeys: [privateKey] });
  const app = Fastify();
  registerReleaseRoutes(app, { releases, blobs });
  await app.listen({ host: '127.0.0.1', port });
  return {
    app, url, port, blobs, releases, keys,
    reissue(manifest, change) {
      const { signature: _s, keyId: _k, ...rest } = manifest;
      return signManifest({ ...rest, ...change }, privateKey);
    },
    close: () => app.close(),
  };
}
