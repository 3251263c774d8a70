import { createPublicKey, sign as edSign, verify as edVerify, type KeyObject } from 'node:crypto';
import { canonicalJson } from './canonical-json.js';
import { keyIdOf } from './keys.js';
import type { ReleaseManifest, UnsignedManifest } from './manifest.js';

/** The bytes a manifest's signature covers: its canonical JSON without `signature`. */
export function signedBytes(manifest: Omit<ReleaseManifest, 'signature'> & { signature?: string }): Buffer {
  const { signature: _signature, ...rest } = manifest;
  return Buffer.from(canonicalJson(rest), 'utf8');
}

/** Signs a manifest with an Ed25519 private key; the key id follows from the key itself. */
export function signManifest(unsigned: UnsignedManifest, privateKey: KeyObject): ReleaseManifest {
  const body = { ...unsigned, keyId: keyIdOf(createPublicKey(privateKey)) };
  const signature = edSign(null, signedBytes(body), privateKey).toString('base64');
  return { ...body, signature };
}

/** True when `signature` is a valid Ed25519 signature of the manifest by `publicKey`. */
export function signatureValid(manifest: ReleaseManifest, publicKey: KeyObject): boolean {
  try {
    return edVerify(null, signedBytes(manifest), publicKey, Buffer.from(manifest.signature, 'base64'));
  } catch {
    return false;
  }
}
