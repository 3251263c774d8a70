import type { BlobStore } from '../release/ports.js';
import type { RolloutRecord } from './controller.js';

/** Every rollout record the controller stored (`rollouts/<id>.json`), oldest first. */
export async function readRollouts(blobs: BlobStore): Promise<RolloutRecord[]> {
  const out: RolloutRecord[] = [];
  for await (const key of blobs.list('rollouts/')) {
    const data = await blobs.get(key);
    if (data) out.push(JSON.parse(data.toString('utf8')) as RolloutRecord);
  }
  return out.sort((a, b) => a.startedAt - b.startedAt);
}
