import { z } from 'zod';
import type { KeyObject } from 'node:crypto';
import { KestrelError } from '../util/errors.js';
import { canonicalJson } from './canonical-json.js';
import { TrustedKeys, type TrustedKeyInput } from './keys.js';
import { ManifestSignatureSchema } from './manifest.js';
import { signBytes, tallySignatures } from './sign.js';

/**
 * Release-key rotation in the manner of TUF's root metadata. A key set names the keys a device
 * trusts and how many must sign a manifest. A device moves to a new set only when the set is
 * signed by enough of the keys it trusts now (its current threshold) — so a thief with one key
 * cannot replace the others — and by enough of the new keys (the new threshold) — so a set
 * naming keys nobody holds cannot brick the fleet. Versions only grow: an old set cannot be
 * replayed to bring a retired key back.
 */

const epochMs = z.number().int().nonnegative();

export const KeySetSchema = z.object({
  schema: z.literal(1),
  version: z.number().int().min(1),
  threshold: z.number().int().min(1).max(16),
  keys: z
    .array(
      z.object({
        /** Ed25519 public key: SPKI PEM, SPKI DER in base64, or the raw 32 bytes in base64. */
        publicKey: z.string().min(1),
        notAfter: epochMs.optional(),
      }),
    )
    .min(1)
    .max(16),
  issuedAt: epochMs,
  /** A set delivered after this is refused (one held back and replayed late). */
  expires: epochMs,
  signatures: z.array(ManifestSignatureSchema).min(1).max(32),
});
export type KeySet = z.infer<typeof KeySetSchema>;
export type UnsignedKeySet = Omit<KeySet, 'schema' | 'signatures'>;

/** The bytes a key set's signatures cover: its canonical JSON without them. */
export function keySetBytes(set: Omit<KeySet, 'signatures'> & { signatures?: unknown }): Buffer {
  const { signatures: _signatures, ...rest } = set;
  return Buffer.from(canonicalJson(rest), 'utf8');
}

/** Signs a key set with every key given (old ones and new ones alike). */
export function signKeySet(unsigned: UnsignedKeySet, privateKeys: readonly KeyObject[]): KeySet {
  const body = { ...unsigned, schema: 1 as const };
  return { ...body, signatures: signBytes(keySetBytes(body), privateKeys) };
}

/** The keys of a set, as a device trusts them. */
export function trustedKeysOf(set: Pick<KeySet, 'keys' | 'threshold'>): TrustedKeys {
  return new TrustedKeys(set.keys.map((k): TrustedKeyInput => ({ publicKey: k.publicKey, ...(k.notAfter !== undefined ? { notAfter: k.notAfter } : {}) })), set.threshold);
}

/**
 * The keys a device trusts after taking `next`, or a KestrelError (E_KEYS_*) saying why it
 * keeps the keys it has. `current.version` is 0 for the keys from the device's own config.
 */
export function acceptKeySet(next: KeySet, current: { trusted: TrustedKeys; version: number }, now: number): TrustedKeys {
  if (next.version <= current.version) {
    throw new KestrelError('E_KEYS_REPLAYED', `key set version ${next.version} is not above ${current.version}, the one this device holds (a replayed or out-of-date set)`);
  }
  if (next.expires <= now) throw new KestrelError('E_KEYS_EXPIRED', `key set version ${next.version} expired at ${new Date(next.expires).toISOString()}`);
  let proposed: TrustedKeys;
  try {
    proposed = trustedKeysOf(next);
  } catch (err) {
    throw new KestrelError('E_KEYS_INVALID', `key set version ${next.version}: ${(err as Error).message}`);
  }
  const bytes = keySetBytes(next);
  const byCurrent = tallySignatures(bytes, next.signatures, current.trusted, next.issuedAt);
  if (byCurrent.valid.length < current.trusted.threshold) {
    throw new KestrelError(
      'E_KEYS_UNTRUSTED',
      `key set version ${next.version} is signed by ${byCurrent.valid.length} of the keys this device trusts (${byCurrent.valid.join(', ') || 'none'}); it needs ${current.trusted.threshold} of ${current.trusted.ids.join(', ')}`,
    );
  }
  const byNew = tallySignatures(bytes, next.signatures, proposed, next.issuedAt);
  if (byNew.valid.length < proposed.threshold) {
    throw new KestrelError(
      'E_KEYS_UNPROVEN',
      `key set version ${next.version} is signed by ${byNew.valid.length} of its own keys; ${proposed.threshold} of them must sign it, to show they are held (keys: ${proposed.ids.join(', ')})`,
    );
  }
  return proposed;
}
