import { createPublicKey, sign as edSign, verify as edVerify, type KeyObject } from 'node:crypto';
import { KestrelError } from '../util/errors.js';
import { canonicalJson } from './canonical-json.js';
import { keyIdOf, type TrustedKeys } from './keys.js';
import type { ManifestSignature, ReleaseManifest, UnsignedManifest } from './manifest.js';

/**
 * The bytes a manifest's signatures cover: its canonical JSON without `signature` (one key: its
 * id is signed with it) or without `signatures` (several keys sign the same bytes).
 */
export function signedBytes(manifest: ReleaseManifest | (Omit<ReleaseManifest, 'signature' | 'signatures'> & { signature?: string; signatures?: unknown })): Buffer {
  const { signature: _one, signatures: _many, ...rest } = manifest as Record<string, unknown>;
  return Buffer.from(canonicalJson(rest), 'utf8');
}

/** Ed25519 signatures of `bytes` by each key, in key-id order; a key given twice is refused. */
export function signBytes(bytes: Buffer, privateKeys: readonly KeyObject[]): ManifestSignature[] {
  const signatures = privateKeys.map((key) => ({ keyId: keyIdOf(createPublicKey(key)), signature: edSign(null, bytes, key).toString('base64') }));
  const ids = signatures.map((s) => s.keyId);
  const twice = ids.find((id, i) => ids.indexOf(id) !== i);
  if (twice) throw new KestrelError('E_RELEASE_KEY', `key ${twice} is given twice: a threshold counts distinct keys`);
  return signatures.sort((a, b) => a.keyId.localeCompare(b.keyId));
}

/**
 * Signs a manifest. With one key it is the single-signed form (schema 1) every agent reads;
 * with several, the multi-signed form (schema 2) for devices that need k of n keys.
 */
export function signManifest(unsigned: UnsignedManifest, privateKeys: KeyObject | readonly KeyObject[]): ReleaseManifest {
  const keys = Array.isArray(privateKeys) ? (privateKeys as readonly KeyObject[]) : [privateKeys as KeyObject];
  if (keys.length === 0) throw new KestrelError('E_RELEASE_KEY', 'a manifest needs at least one signing key');
  if (keys.length === 1) {
    const body = { ...unsigned, schema: 1 as const, keyId: keyIdOf(createPublicKey(keys[0])) };
    return { ...body, signature: edSign(null, signedBytes(body), keys[0]).toString('base64') };
  }
  const body = { ...unsigned, schema: 2 as const };
  return { ...body, signatures: signBytes(signedBytes(body), keys) };
}

/** How a set of signatures stands against the keys a device trusts. */
export interface SignatureTally {
  /** Distinct trusted keys with a valid signature. */
  valid: string[];
  /** Trusted keys whose signature does not match the bytes (tampered, or another key's). */
  invalid: string[];
  /** Trusted keys retired (`notAfter`) before the document was issued. */
  retired: string[];
  /** Keys this device does not trust. */
  untrusted: string[];
}

/** Counts each trusted key once, whatever the document repeats. */
export function tallySignatures(bytes: Buffer, signatures: readonly ManifestSignature[], trusted: TrustedKeys, issuedAt: number): SignatureTally {
  const tally: SignatureTally = { valid: [], invalid: [], retired: [], untrusted: [] };
  for (const { keyId, signature } of signatures) {
    if ([tally.valid, tally.invalid, tally.retired, tally.untrusted].some((list) => list.includes(keyId))) continue;
    const key = trusted.get(keyId);
    if (!key) tally.untrusted.push(keyId);
    else if (!signatureValid(bytes, signature, key.key)) tally.invalid.push(keyId);
    else if (key.notAfter !== undefined && issuedAt > key.notAfter) tally.retired.push(keyId);
    else tally.valid.push(keyId);
  }
  return tally;
}

/** True when `signature` (base64) is a valid Ed25519 signature of `bytes` by `publicKey`. */
export function signatureValid(bytes: Buffer, signature: string, publicKey: KeyObject): boolean {
  try {
    return edVerify(null, bytes, publicKey, Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}
