// The BlobStore contract against both blob stores: a folder, and S3-compatible storage (s3rver
// from npm on a free port, a new bucket for each fresh store).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { openBlobStore } from '@kestrel/deploy';
import { blobStoreContract } from './support/blob-store-contract.js';
import { startS3, type TestS3 } from './support/s3.js';

const dir = mkdtempSync(join(tmpdir(), 'kestrel-blobs-'));
let folders = 0;

blobStoreContract('folder', {
  fresh: () => openBlobStore({ type: 'filesystem', path: join(dir, `blobs-${++folders}`) }),
  async cleanup() {
    rmSync(dir, { recursive: true, force: true });
  },
});

let s3: TestS3 | undefined;
let buckets = 0;

blobStoreContract('S3 (s3rver)', {
  async fresh() {
    s3 ??= await startS3();
    const config = { ...s3.config(), bucket: `${s3.bucket}-${++buckets}` };
    const admin = new S3Client({ endpoint: config.endpoint, region: config.region, forcePathStyle: true, credentials: config.credentials });
    await admin.send(new CreateBucketCommand({ Bucket: config.bucket }));
    admin.destroy();
    return openBlobStore(config);
  },
  async cleanup() {
    await s3?.close();
  },
});
