import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { createPublicKey, type KeyObject } from 'node:crypto';
import { generateReleaseKeyPair, KestrelError, keyIdOf, parsePrivateKey, type ReleaseKeyPair } from '@kestrel/core';

/**
 * The hub's signing key on disk: `<path>` (PKCS#8 PEM, mode 0600) and `<path>.pub` (SPKI PEM, to
 * copy into each device's `update.trustedKeys`). An existing key is never overwritten by
 * accident: rotating means a new file name, trusted beside the old one until it is retired.
 */
export async function writeKeyPair(path: string, options: { force?: boolean } = {}): Promise<ReleaseKeyPair> {
  if (!options.force && existsSync(path)) {
    throw new KestrelError('E_RELEASE_KEY', `${path} already exists; to rotate keys write the new key to another file (and trust both on devices until the old one is retired), or pass --force`);
  }
  const pair = generateReleaseKeyPair();
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, pair.privateKeyPem, { mode: 0o600 });
  await chmod(path, 0o600);
  await writeFile(`${path}.pub`, pair.publicKeyPem);
  return pair;
}

export async function readSigningKey(path: string): Promise<{ key: KeyObject; keyId: string }> {
  let pem: string;
  try {
    pem = await readFile(path, 'utf8');
  } catch (err) {
    throw new KestrelError('E_RELEASE_KEY', `cannot read the signing key ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); create one with kestrel deploy keygen`);
  }
  const key = parsePrivateKey(pem, `signing key ${path}`);
  return { key, keyId: keyIdOf(createPublicKey(key)) };
}
