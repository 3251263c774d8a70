import { KestrelError } from '../util/errors.js';
import type { TrustedKeys } from './keys.js';
import type { ReleaseManifest } from './manifest.js';
import { signatureValid } from './sign.js';

/**
 * What a device checks before it touches a manifest's artifact, in the order TUF and Mender
 * check firmware metadata: who signed it, whether it is still fresh, whether it is newer than
 * what the device already acted on, and whether this agent can run it.
 */

export const REFUSAL_CODES = [
  'E_MANIFEST_UNTRUSTED_KEY',
  'E_MANIFEST_SIGNATURE',
  'E_MANIFEST_EXPIRED',
  'E_MANIFEST_REPLAYED',
  'E_MANIFEST_DOWNGRADE',
  'E_MANIFEST_AGENT_TOO_OLD',
] as const;
export type RefusalCode = (typeof REFUSAL_CODES)[number];

export interface ManifestCheckContext {
  trusted: TrustedKeys;
  now: number;
  /** The highest `sequence` this device acted on (0 when none). */
  lastSequence: number;
  /** The `release` number of the running model, when it came from a release. */
  currentRelease?: number;
  agentVersion: string;
}

/**
 * Throws KestrelError with one of REFUSAL_CODES and a message an operator can act on; returns
 * when the manifest may be acted on.
 *
 * Replay protection is never waived: even a rollback manifest needs a fresh sequence, or any
 * rollback ever captured could be replayed to pin a device to an old model. What `rollback: true`
 * waives is the downgrade rule (a lower `release` than the running one).
 */
export function checkManifest(manifest: ReleaseManifest, ctx: ManifestCheckContext): void {
  const key = ctx.trusted.get(manifest.keyId);
  if (!key) {
    throw new KestrelError('E_MANIFEST_UNTRUSTED_KEY', `manifest ${manifest.name} ${manifest.version} is signed by key ${manifest.keyId}, which this device does not trust (trusted: ${ctx.trusted.ids.join(', ') || 'none'})`);
  }
  if (!signatureValid(manifest, key.key)) {
    throw new KestrelError('E_MANIFEST_SIGNATURE', `manifest ${manifest.name} ${manifest.version}: the signature does not match its content (tampered, or signed by another key than ${manifest.keyId})`);
  }
  if (key.notAfter !== undefined && manifest.issuedAt > key.notAfter) {
    throw new KestrelError('E_MANIFEST_UNTRUSTED_KEY', `manifest ${manifest.name} ${manifest.version} was issued at ${iso(manifest.issuedAt)}, after key ${manifest.keyId} was retired (${iso(key.notAfter)})`);
  }
  if (manifest.expires <= ctx.now) {
    throw new KestrelError('E_MANIFEST_EXPIRED', `manifest ${manifest.name} ${manifest.version} expired at ${iso(manifest.expires)}; issue it again (kestrel deploy push)`);
  }
  if (manifest.sequence <= ctx.lastSequence) {
    throw new KestrelError('E_MANIFEST_REPLAYED', `manifest sequence ${manifest.sequence} is not above ${ctx.lastSequence}, the last one this device acted on (a replayed or out-of-date manifest)`);
  }
  if (ctx.currentRelease !== undefined && manifest.release < ctx.currentRelease && manifest.rollback !== true) {
    throw new KestrelError('E_MANIFEST_DOWNGRADE', `release ${manifest.release} (${manifest.name} ${manifest.version}) is older than the running release ${ctx.currentRelease}; a downgrade needs a signed rollback (kestrel deploy rollback)`);
  }
  if (manifest.minAgentVersion !== undefined && compareVersions(ctx.agentVersion, manifest.minAgentVersion) < 0) {
    throw new KestrelError('E_MANIFEST_AGENT_TOO_OLD', `release ${manifest.name} ${manifest.version} needs agent ${manifest.minAgentVersion} or newer; this agent is ${ctx.agentVersion}`);
  }
}

/** Compares x.y.z versions numerically (a pre-release suffix is ignored). */
export function compareVersions(a: string, b: string): number {
  const parts = (v: string) => v.split(/[-+]/)[0].split('.').map((p) => Number.parseInt(p, 10) || 0);
  const [pa, pb] = [parts(a), parts(b)];
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
