import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { KestrelError } from '../util/errors.js';

/**
 * Ed25519 release keys. A key is named by its key id: the first 16 hex digits of the SHA-256 of
 * the raw 32-byte public key, so the id follows from the key alone and a device can check that a
 * configured id matches the key it came with.
 */

export interface ReleaseKeyPair {
  keyId: string;
  /** PKCS#8 PEM; stays on the hub (file mode 0600). */
  privateKeyPem: string;
  /** SPKI PEM; goes into every device's `update.trustedKeys`. */
  publicKeyPem: string;
}

/** One key a device trusts. */
export interface TrustedKeyInput {
  /** SPKI PEM, or the raw 32-byte key in base64. */
  publicKey: string;
  /** When given, must equal the id computed from the key (catches a key pasted under the wrong id). */
  keyId?: string;
  /**
   * Epoch ms after which manifests signed with this key are refused: the old key during a
   * rotation keeps working until every device has the new one, then stops by itself.
   */
  notAfter?: number;
}

export interface TrustedKey {
  keyId: string;
  key: KeyObject;
  notAfter?: number;
}

const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export function generateReleaseKeyPair(): ReleaseKeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  return {
    keyId: keyIdOf(publicKey),
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

/** The raw 32 bytes of an Ed25519 public key. */
export function rawPublicKey(key: KeyObject): Buffer {
  const der = key.export({ type: 'spki', format: 'der' });
  return der.subarray(der.length - 32);
}

export function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256').update(rawPublicKey(publicKey)).digest('hex').slice(0, 16);
}

/** The forms a public key may be written in, for error messages. */
export const PUBLIC_KEY_FORMS = 'SPKI PEM, SPKI DER in base64, or the raw 32-byte key in base64';

/**
 * A public key from SPKI PEM, SPKI DER in base64 (what `openssl pkey -pubin -outform DER | base64`
 * gives) or the raw 32 bytes in base64; throws E_RELEASE_KEY naming `what`.
 */
export function parsePublicKey(text: string, what = 'public key'): KeyObject {
  let key: KeyObject;
  try {
    if (text.includes('-----BEGIN')) key = createPublicKey(text);
    else {
      const trimmed = text.trim();
      // Buffer.from(…, 'base64') skips characters that are not base64: check them first, so
      // garbage is refused for what it is rather than decoded to some other length.
      if (!/^[A-Za-z0-9+/]+={0,2}$/.test(trimmed)) throw new Error('it is neither PEM nor base64');
      const bytes = Buffer.from(trimmed, 'base64');
      if (bytes.length === 32) key = createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, bytes]), format: 'der', type: 'spki' });
      else key = createPublicKey({ key: bytes, format: 'der', type: 'spki' });
    }
  } catch (err) {
    throw new KestrelError('E_RELEASE_KEY', `${what} is not an Ed25519 public key (${PUBLIC_KEY_FORMS}): ${(err as Error).message}`);
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new KestrelError('E_RELEASE_KEY', `${what} is a ${key.asymmetricKeyType} key; release keys are Ed25519`);
  return key;
}

export function parsePrivateKey(pem: string, what = 'private key'): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (err) {
    throw new KestrelError('E_RELEASE_KEY', `${what} is not a PEM private key: ${(err as Error).message}`);
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new KestrelError('E_RELEASE_KEY', `${what} is a ${key.asymmetricKeyType} key; release keys are Ed25519`);
  return key;
}

/**
 * The keys a device trusts, by id. Several at once is what makes rotation possible: ship the new
 * key to devices, sign with it, then retire the old one (remove it, or let `notAfter` end it).
 */
export class TrustedKeys {
  private readonly byId = new Map<string, TrustedKey>();

  /**
   * `threshold`: how many distinct trusted keys must sign a manifest (k of n). 1 by default:
   * any trusted key will do.
   */
  constructor(
    keys: readonly TrustedKeyInput[],
    readonly threshold = 1,
  ) {
    keys.forEach((input, i) => {
      const key = parsePublicKey(input.publicKey, `trusted key ${i + 1}`);
      const keyId = keyIdOf(key);
      if (input.keyId !== undefined && input.keyId !== keyId) {
        throw new KestrelError('E_RELEASE_KEY', `trusted key ${i + 1} is declared as ${input.keyId} but its key id is ${keyId}: check that the right public key was pasted`);
      }
      this.byId.set(keyId, { keyId, key, notAfter: input.notAfter });
    });
    if (!Number.isInteger(threshold) || threshold < 1 || (this.byId.size > 0 && threshold > this.byId.size)) {
      throw new KestrelError('E_RELEASE_KEY', `a threshold of ${threshold} signatures cannot be met by ${this.byId.size} trusted key${this.byId.size === 1 ? '' : 's'}`);
    }
  }

  get size(): number {
    return this.byId.size;
  }

  get ids(): string[] {
    return [...this.byId.keys()];
  }

  get(keyId: string): TrustedKey | undefined {
    return this.byId.get(keyId);
  }
}
