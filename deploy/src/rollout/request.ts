import { KestrelError, parsePayload, type ReleaseManifest } from '@kestrel/core';
import type { ReleaseRecord } from '../release/release-service.js';
import { parseAbortRule } from './plan.js';

/**
 * What `kestrel deploy push` sends the hub (POST /api/v1/rollouts). The manifests come signed:
 * the signing keys stay with the operator, never on the hub, so a compromised hub cannot make a
 * device install anything it was not already given. One forward manifest serves every wave (one
 * sequence, as devices require), and a signed rollback per release the targets ran when the push
 * was made, for the abort rule to send back; an unused rollback dies with the next rollout's
 * higher sequence or at its expiry.
 */
export interface RolloutRequest {
  release: string;
  /** Device ids, or `all` (every device with a hub token that reported on the broker). */
  to: string[] | 'all';
  canary?: string | number;
  waveSize?: number;
  /** `failures>N` or `failures>P% [after M]`; default: the first failure aborts. */
  abortIf?: string;
  waveTimeoutMs: number;
  manifest: ReleaseManifest;
  /** Signed rollbacks by the SHA-256 of the model they go back to. */
  rollbacks?: Record<string, ReleaseManifest>;
}

export class RolloutRequestError extends KestrelError {
  constructor(message: string) {
    super('E_ROLLOUT', message);
  }
}

/** Checks shape and consistency (the devices check the signatures); throws RolloutRequestError naming the problem. */
export async function checkRolloutRequest(body: unknown, releaseOf: (id: string) => Promise<ReleaseRecord | undefined>, now: number): Promise<RolloutRequest> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new RolloutRequestError('the body must be a JSON object: { release, to, manifest, waveTimeoutMs, ... }');
  const b = body as Record<string, unknown>;
  const known = ['release', 'to', 'canary', 'waveSize', 'abortIf', 'waveTimeoutMs', 'manifest', 'rollbacks'];
  const unknown = Object.keys(b).filter((k) => !known.includes(k));
  if (unknown.length) throw new RolloutRequestError(`unknown field ${unknown.map((k) => `"${k}"`).join(', ')} (known: ${known.join(', ')})`);
  if (typeof b.release !== 'string') throw new RolloutRequestError('release: a release id (name@version) is required');
  const release = await releaseOf(b.release);
  if (!release) throw new RolloutRequestError(`no release ${b.release} on this hub (kestrel deploy release)`);
  const to = b.to === 'all' ? 'all' : Array.isArray(b.to) && b.to.length > 0 && b.to.every((d) => typeof d === 'string' && d.length > 0) ? (b.to as string[]) : undefined;
  if (!to) throw new RolloutRequestError('to: "all" or a non-empty list of device ids');
  if (b.canary !== undefined && typeof b.canary !== 'string' && typeof b.canary !== 'number') throw new RolloutRequestError('canary: a count or a percentage ("10%")');
  if (b.waveSize !== undefined && !(Number.isInteger(b.waveSize) && (b.waveSize as number) > 0)) throw new RolloutRequestError('waveSize: a positive whole number');
  if (b.abortIf !== undefined && typeof b.abortIf !== 'string') throw new RolloutRequestError('abortIf: failures>N or failures>P% [after M]');
  parseAbortRule(b.abortIf as string | undefined);
  if (!(Number.isInteger(b.waveTimeoutMs) && (b.waveTimeoutMs as number) >= 1000)) throw new RolloutRequestError('waveTimeoutMs: a whole number of milliseconds, at least 1000');
  const manifest = manifestOf(b.manifest, 'manifest');
  if (manifest.sha256 !== release.sha256 || manifest.name !== release.name || manifest.version !== release.version) {
    throw new RolloutRequestError(`manifest: it is for ${manifest.name}@${manifest.version} (${manifest.sha256.slice(0, 12)}), not release ${release.id} (${release.sha256.slice(0, 12)})`);
  }
  if (manifest.rollback) throw new RolloutRequestError('manifest: a rollback manifest cannot start a rollout');
  if (manifest.expires <= now) throw new RolloutRequestError(`manifest: expired at ${new Date(manifest.expires).toISOString()}`);
  const rollbacks: Record<string, ReleaseManifest> = {};
  if (b.rollbacks !== undefined) {
    if (typeof b.rollbacks !== 'object' || b.rollbacks === null || Array.isArray(b.rollbacks)) throw new RolloutRequestError('rollbacks: an object of SHA-256 → signed rollback manifest');
    for (const [sha, value] of Object.entries(b.rollbacks)) {
      const m = manifestOf(value, `rollbacks.${sha}`);
      if (m.sha256 !== sha || !m.rollback) throw new RolloutRequestError(`rollbacks.${sha}: must be a signed rollback to the model ${sha}`);
      // A device acts on a higher sequence only: a rollback must come after the release it undoes.
      if (m.sequence <= manifest.sequence) throw new RolloutRequestError(`rollbacks.${sha}: sequence ${m.sequence} is not above the release manifest's ${manifest.sequence}`);
      rollbacks[sha] = m;
    }
  }
  return {
    release: release.id,
    to,
    ...(b.canary !== undefined ? { canary: b.canary as string | number } : {}),
    ...(b.waveSize !== undefined ? { waveSize: b.waveSize as number } : {}),
    ...(b.abortIf !== undefined ? { abortIf: b.abortIf as string } : {}),
    waveTimeoutMs: b.waveTimeoutMs as number,
    manifest,
    rollbacks,
  };
}

function manifestOf(value: unknown, what: string): ReleaseManifest {
  try {
    return parsePayload('modelSet', Buffer.from(JSON.stringify(value ?? null))) as ReleaseManifest;
  } catch (err) {
    throw new RolloutRequestError(`${what}: not a signed release manifest: ${(err as Error).message}`);
  }
}
