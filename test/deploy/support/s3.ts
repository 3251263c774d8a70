// An S3-compatible server for tests: s3rver (from npm) on a free port of 127.0.0.1, its objects
// in a temporary folder, stopped and removed by close().
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import S3rver from 's3rver';
import type { S3BlobsConfig } from '@kestrel/deploy';

export interface TestS3 {
  port: number;
  endpoint: string;
  /** A bucket made for the caller (s3rver creates configured buckets at start). */
  bucket: string;
  /** A blobs config for `bucket`, at `endpoint` (default this server's). */
  config(endpoint?: string): S3BlobsConfig;
  close(): Promise<void>;
}

/** s3rver's fixed credentials: it checks every request's signature against them. */
const CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export async function startS3(): Promise<TestS3> {
  const directory = mkdtempSync(join(tmpdir(), 'kestrel-s3-'));
  const bucket = `kestrel-test-${randomBytes(4).toString('hex')}`;
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory, configureBuckets: [{ name: bucket, configs: [] }] });
  const address = await server.run();
  const endpoint = `http://127.0.0.1:${address.port}`;
  return {
    port: address.port,
    endpoint,
    bucket,
    config: (at = endpoint) => ({ type: 's3', bucket, endpoint: at, region: 'us-east-1', forcePathStyle: true, credentials: { ...CREDENTIALS } }),
    async close() {
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
