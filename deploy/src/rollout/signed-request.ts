import type { ReleaseManifest } from '@kestrel/core';
import type { ReleaseService } from '../release/release-service.js';
import type { RolloutRequest } from './request.js';

export interface SignRolloutInput extends Omit<RolloutRequest, 'manifest' | 'rollbacks'> {
  /** The SHA-256 of the model each device runs now, as the hub's device table says (null: unknown). */
  currentModels: readonly (string | null | undefined)[];
  manifestTtlMs?: number;
}

/**
 * The operator's half of a rollout, done where the signing keys are: the release manifest, then a
 * signed rollback for each other release the fleet runs now (higher sequences, so a device takes
 * them after the release). The hub gets signed manifests only and never a key.
 */
export async function signRolloutRequest(releases: ReleaseService, input: SignRolloutInput): Promise<RolloutRequest> {
  const { currentModels, manifestTtlMs, ...request } = input;
  const release = await releases.require(request.release);
  const manifest = await releases.issueManifest(release, { ttlMs: manifestTtlMs });
  const rollbacks: Record<string, ReleaseManifest> = {};
  for (const sha of new Set(currentModels)) {
    if (!sha || sha === release.sha256) continue;
    const previous = await releases.findBySha(sha);
    // A model the hub has no release of cannot be sent back to; the hub says so if it aborts.
    if (previous) rollbacks[sha] = await releases.issueManifest(previous, { rollback: true, ttlMs: manifestTtlMs });
  }
  return { ...request, manifest, rollbacks };
}
