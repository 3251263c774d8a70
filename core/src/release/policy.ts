import { KestrelError } from '../util/errors.js';
import type { TrustedKeys } from './keys.js';
import { manifestSignatures, type ReleaseManifest } from './manifest.js';
import { signedBytes, tallySignatures } from './sign.js';

/**
 * What a device checks before it touches a manifest's artifact, in the order TUF and Mender
 * check firmware metadata: who signed it, whether it is still fresh, whether it is newer than
 * what the device already acted on, and whether this agent can run it.
 */

export const REFUSAL_CODES = [
  'E_MANIFEST_UNTRUSTED_KEY',
  'E_MANIFEST_SIGNATURE',
  'E_MANIFEST_THRESHOLD',
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
  checkSigners(manifest, ctx.trusted);
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

/** Enough distinct trusted keys signed it, each validly, none retired: else the refusal that names why. */
function checkSigners(manifest: ReleaseManifest, trusted: TrustedKeys): void {
  const what = `manifest ${manifest.name} ${manifest.version}`;
  const signatures = manifestSignatures(manifest);
  const tally = tallySignatures(signedBytes(manifest), signatures, trusted, manifest.issuedAt);
  if (tally.valid.length >= trusted.threshold) return;
  const ids = signatures.map((s) => s.keyId).join(', ');
  if (tally.invalid.length > 0 && tally.valid.length === 0) {
    throw new KestrelError('E_MANIFEST_SIGNATURE', `${what}: the signature does not match its content (tampered, or signed by another key than ${tally.invalid.join(', ')})`);
  }
  if (tally.retired.length > 0 && tally.valid.length === 0) {
    const key = trusted.get(tally.retired[0])!;
    throw new KestrelError('E_MANIFEST_UNTRUSTED_KEY', `${what} was issued at ${iso(manifest.issuedAt)}, after key ${key.keyId} was retired (${iso(key.notAfter!)})`);
  }
  if (tally.valid.length === 0) {
    throw new KestrelError('E_MANIFEST_UNTRUSTED_KEY', `${what} is signed by key ${ids}, which this device does not trust (trusted: ${trusted.ids.join(', ') || 'none'})`);
  }
  throw new KestrelError(
    'E_MANIFEST_THRESHOLD',
    `${what} carries valid signatures of ${tally.valid.length} trusted key${tally.valid.length === 1 ? '' : 's'} (${tally.valid.join(', ')}); this device needs ${trusted.threshold} of its ${trusted.size}` +
      (tally.invalid.length ? ` (signatures that do not match: ${tally.invalid.join(', ')})` : '') +
      (tally.untrusted.length ? ` (keys it does not trust: ${tally.untrusted.join(', ')})` : ''),
  );
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
