import { KestrelError, parsePayload, ShadowShareSchema, type ReleaseManifest } from '@kestrel/core';
import type { ReleaseRecord } from '../release/release-service.js';

/**
 * What `kestrel deploy shadow start` sends the hub (POST /api/v1/shadows). The manifest comes
 * signed by the operator's key, as a rollout's does: the hub never holds a signing key.
 */
export interface ShadowRequest {
  release: string;
  /** Device ids, or `all` (every device with a hub token the fleet table knows). */
  to: string[] | 'all';
  /** Share of each device's live frames the candidate sees, in (0, 1]. */
  share: number;
  /** How long the devices run it (they stop by themselves then). */
  hours: number;
  manifest: ReleaseManifest;
}

export const DEFAULT_SHADOW_SHARE = 0.1;
export const DEFAULT_SHADOW_HOURS = 24;
/** A manifest must stay valid as long as the shadow runs: a device restarting late must still accept it. */
export const MAX_SHADOW_HOURS = 24 * 30;

export class ShadowRequestError extends KestrelError {
  constructor(message: string) {
    super('E_SHADOW', message);
  }
}

/** Why a share is not usable, or null. */
export function shareProblem(share: unknown): string | null {
  if (typeof share !== 'number' || !Number.isFinite(share)) return `share must be a number in (0, 1], got ${JSON.stringify(share)}`;
  const r = ShadowShareSchema.safeParse(share);
  return r.success ? null : `share must be in (0, 1] (0.1: one frame in ten), got ${share}`;
}

/** Why a duration in hours is not usable, or null. */
export function hoursProblem(hours: unknown): string | null {
  if (typeof hours !== 'number' || !Number.isFinite(hours) || hours <= 0 || hours > MAX_SHADOW_HOURS) return `hours must be a number above 0 and at most ${MAX_SHADOW_HOURS}, got ${JSON.stringify(hours)}`;
  return null;
}

/** Checks shape and consistency (the devices check the signature); throws ShadowRequestError naming the problem. */
export async function checkShadowRequest(body: unknown, releaseOf: (id: string) => Promise<ReleaseRecord | undefined>, now: number): Promise<ShadowRequest & { until: number }> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ShadowRequestError('the body must be a JSON object: { release, to, share, hours, manifest }');
  const b = body as Record<string, unknown>;
  const known = ['release', 'to', 'share', 'hours', 'manifest'];
  const unknown = Object.keys(b).filter((k) => !known.includes(k));
  if (unknown.length) throw new ShadowRequestError(`unknown field ${unknown.map((k) => `"${k}"`).join(', ')} (known: ${known.join(', ')})`);
  if (typeof b.release !== 'string' || b.release.length === 0) throw new ShadowRequestError('release: a release id (name@version) is required');
  const release = await releaseOf(b.release);
  if (!release) throw new ShadowRequestError(`no release ${b.release} on this hub (kestrel deploy release)`);
  const to = b.to === 'all' ? 'all' : Array.isArray(b.to) && b.to.length > 0 && b.to.every((d) => typeof d === 'string' && d.length > 0) ? (b.to as string[]) : undefined;
  if (!to) throw new ShadowRequestError('to: "all" or a non-empty list of device ids');
  const share = b.share ?? DEFAULT_SHADOW_SHARE;
  const badShare = shareProblem(share);
  if (badShare) throw new ShadowRequestError(badShare);
  const hours = b.hours ?? DEFAULT_SHADOW_HOURS;
  const badHours = hoursProblem(hours);
  if (badHours) throw new ShadowRequestError(badHours);
  let manifest: ReleaseManifest;
  try {
    manifest = parsePayload('modelSet', Buffer.from(JSON.stringify(b.manifest ?? null)));
  } catch (err) {
    throw new ShadowRequestError(`manifest: not a signed release manifest: ${(err as Error).message}`);
  }
  if (manifest.sha256 !== release.sha256 || manifest.name !== release.name || manifest.version !== release.version) {
    throw new ShadowRequestError(`manifest: it is for ${manifest.name}@${manifest.version} (${manifest.sha256.slice(0, 12)}), not release ${release.id} (${release.sha256.slice(0, 12)})`);
  }
  const until = now + Math.round((hours as number) * 3_600_000);
  if (manifest.expires < until) throw new ShadowRequestError(`manifest: expires at ${new Date(manifest.expires).toISOString()}, before the shadow would end (${new Date(until).toISOString()})`);
  return { release: release.id, to, share: share as number, hours: hours as number, manifest, until };
}
