import { KestrelError } from '@kestrel/core';

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
/** A manifest shorter-lived than this expires before a slow device has downloaded it. */
export const MIN_MANIFEST_TTL_MS = 5 * 60_000;
/** Past a year an expiry stops protecting devices from a replayed old manifest. */
export const MAX_MANIFEST_TTL_MS = 365 * 86_400_000;

/**
 * How long a signed manifest stays valid, from a flag such as `30m`, `12h`, `7d` or `90d`.
 * `flag` names the option in the error, so the person sees which of their words was wrong.
 */
export function parseManifestTtl(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([smhd])$/i.exec(text.trim());
  if (!m) throw new KestrelError('E_USAGE', `${flag}: "${text}" is not a duration; write a number and a unit: 30m, 12h, 7d`);
  const ms = Number(m[1]) * UNIT_MS[m[2]!.toLowerCase()]!;
  if (ms < MIN_MANIFEST_TTL_MS || ms > MAX_MANIFEST_TTL_MS) {
    throw new KestrelError('E_USAGE', `${flag}: ${text} is outside 5m to 365d (devices refuse an expired manifest, and a long-lived one can be replayed)`);
  }
  return ms;
}
