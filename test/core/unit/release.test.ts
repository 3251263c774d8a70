import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import {
  canonicalJson, checkManifest, compareVersions, generateReleaseKeyPair, keyIdOf, parsePayload, rawPublicKey, signManifest,
  signatureValid, signedBytes, signKeySet, acceptKeySet, rawPublicKey as rawKey, TrustedKeys, type KeySet, type ReleaseManifest, type UnsignedManifest,
} from '@kestrel/core';

const NOW = Date.UTC(2025, 0, 1);

function unsigned(overrides: Partial<UnsignedManifest> = {}): UnsignedManifest {
  return {
    schema: 1,
    name: 'nanodet',
    version: '2.0.0',
    release: 2,
    sha256: 'a'.repeat(64),
    size: 1234,
    url: 'http://hub.local:8470/api/v1/artifacts/' + 'a'.repeat(64),
    metadata: { decoder: 'nanodet', labelCount: 80, inputSize: [416, 416] },
    eval: { map50: 0.41 },
    sequence: 10,
    issuedAt: NOW - 1000,
    expires: NOW + 3600_000,
    ...overrides,
  };
}

const hub = generateReleaseKeyPair();
const hubKey = createPrivateKey(hub.privateKeyPem);
const trusted = new TrustedKeys([{ publicKey: hub.publicKeyPem }]);
const ctx = { trusted, now: NOW, lastSequence: 5, currentRelease: 1, agentVersion: '0.1.0' };

function refusal(manifest: ReleaseManifest, context = ctx): string {
  try {
    checkManifest(manifest, context);
  } catch (err) {
    return (err as { code: string }).code;
  }
  return 'accepted';
}

test('canonical JSON sorts keys at every depth, drops undefined, and refuses non-finite numbers', () => {
  assert.equal(canonicalJson({ b: 1, a: { d: [1, 'x', null], c: true }, u: undefined }), '{"a":{"c":true,"d":[1,"x",null]},"b":1}');
  assert.equal(canonicalJson({ a: 1, b: 2 }), canonicalJson({ b: 2, a: 1 }));
  assert.throws(() => canonicalJson({ x: Number.NaN }), /\$\.x is NaN/);
});

test('the key id is the first 16 hex digits of the SHA-256 of the raw public key', async () => {
  const { createHash } = await import('node:crypto');
  const pub = createPublicKey(hub.publicKeyPem);
  assert.equal(hub.keyId, createHash('sha256').update(rawPublicKey(pub)).digest('hex').slice(0, 16));
  assert.equal(keyIdOf(pub), hub.keyId);
  // A raw base64 key is accepted too and names the same key.
  const raw = new TrustedKeys([{ publicKey: rawPublicKey(pub).toString('base64'), keyId: hub.keyId }]);
  assert.deepEqual(raw.ids, [hub.keyId]);
  assert.throws(() => new TrustedKeys([{ publicKey: hub.publicKeyPem, keyId: '0123456789abcdef' }]), /declared as 0123456789abcdef but its key id is/);
  assert.throws(() => new TrustedKeys([{ publicKey: 'bm90IGEga2V5' }]), /trusted key 1 is not an Ed25519 public key/);
});

test('a signed manifest verifies, survives a JSON round trip in another key order, and is a valid model/set payload', () => {
  const manifest = signManifest(unsigned(), hubKey);
  assert.equal(manifest.keyId, hub.keyId);
  assert.equal(refusal(manifest), 'accepted');
  const reordered = JSON.parse(JSON.stringify(Object.fromEntries(Object.entries(manifest).reverse()))) as ReleaseManifest;
  assert.equal(refusal(reordered), 'accepted');
  const parsed = parsePayload('modelSet', JSON.stringify(manifest));
  assert.equal(parsed.sha256, manifest.sha256);
});

test('a tampered manifest is refused: any signed field changed breaks the signature', () => {
  const manifest = signManifest(unsigned(), hubKey);
  for (const change of [{ url: 'http://evil.example/model.onnx' }, { sha256: 'b'.repeat(64) }, { expires: NOW + 10 * 3600_000 }, { rollback: true }]) {
    assert.equal(refusal({ ...manifest, ...change }), 'E_MANIFEST_SIGNATURE', JSON.stringify(change));
  }
  assert.equal(signatureValid(signedBytes(manifest), (manifest as { signature: string }).signature, createPublicKey(hub.publicKeyPem)), true);
});

test('a manifest signed by a key the device does not trust is refused, naming the key', () => {
  const other = generateReleaseKeyPair();
  const manifest = signManifest(unsigned(), createPrivateKey(other.privateKeyPem));
  assert.throws(() => checkManifest(manifest, ctx), (err: Error & { code: string }) => err.code === 'E_MANIFEST_UNTRUSTED_KEY' && err.message.includes(other.keyId));
  // Rotation: trusting both keys accepts manifests from either.
  const both = new TrustedKeys([{ publicKey: hub.publicKeyPem }, { publicKey: other.publicKeyPem }]);
  assert.equal(refusal(manifest, { ...ctx, trusted: both }), 'accepted');
  // A retired key (notAfter) stops signing by itself.
  const retired = new TrustedKeys([{ publicKey: other.publicKeyPem, notAfter: NOW - 3600_000 }]);
  assert.equal(refusal(manifest, { ...ctx, trusted: retired }), 'E_MANIFEST_UNTRUSTED_KEY');
});

test('expired, replayed and too-new-for-this-agent manifests are refused', () => {
  assert.equal(refusal(signManifest(unsigned({ expires: NOW - 1 }), hubKey)), 'E_MANIFEST_EXPIRED');
  assert.equal(refusal(signManifest(unsigned({ sequence: 5 }), hubKey)), 'E_MANIFEST_REPLAYED');
  assert.equal(refusal(signManifest(unsigned({ sequence: 3 }), hubKey)), 'E_MANIFEST_REPLAYED');
  assert.equal(refusal(signManifest(unsigned({ minAgentVersion: '0.2.0' }), hubKey)), 'E_MANIFEST_AGENT_TOO_OLD');
  assert.equal(refusal(signManifest(unsigned({ minAgentVersion: '0.1.0' }), hubKey)), 'accepted');
});

test('a downgrade needs a signed rollback, and even a rollback needs a fresh sequence', () => {
  const onRelease3 = { ...ctx, currentRelease: 3 };
  assert.equal(refusal(signManifest(unsigned({ release: 2 }), hubKey), onRelease3), 'E_MANIFEST_DOWNGRADE');
  assert.equal(refusal(signManifest(unsigned({ release: 2, rollback: true }), hubKey), onRelease3), 'accepted');
  assert.equal(refusal(signManifest(unsigned({ release: 2, rollback: true, sequence: 4 }), hubKey), onRelease3), 'E_MANIFEST_REPLAYED');
});

const keys = [generateReleaseKeyPair(), generateReleaseKeyPair(), generateReleaseKeyPair()];
const privates = keys.map((k) => createPrivateKey(k.privateKeyPem));
const twoOfThree = new TrustedKeys(keys.map((k) => ({ publicKey: k.publicKeyPem })), 2);

test('k of n: a device that needs 2 of its 3 keys takes a manifest signed by two, and refuses one signed by one, naming both numbers', () => {
  const byTwo = signManifest(unsigned(), [privates[0], privates[2]]);
  assert.equal(byTwo.schema, 2, 'several keys: the multi-signed form');
  assert.equal(refusal(byTwo, { ...ctx, trusted: twoOfThree }), 'accepted');
  const byOne = signManifest(unsigned(), privates[1]);
  assert.equal(byOne.schema, 1, 'one key: the single-signed form older agents read');
  assert.throws(() => checkManifest(byOne, { ...ctx, trusted: twoOfThree }), (err: Error & { code: string }) => {
    assert.equal(err.code, 'E_MANIFEST_THRESHOLD');
    assert.match(err.message, new RegExp(`valid signatures of 1 trusted key \\(${keys[1].keyId}\\); this device needs 2 of its 3`));
    return true;
  });
  // The same key's signature twice counts once.
  const doubled = { ...byTwo, signatures: [byTwo.signatures[0], byTwo.signatures[0]] } as ReleaseManifest;
  assert.equal(refusal(doubled, { ...ctx, trusted: twoOfThree }), 'E_MANIFEST_THRESHOLD');
  // One good signature and one broken: still short of two.
  const broken = { ...byTwo, signatures: [byTwo.signatures[0], { ...byTwo.signatures[1], signature: byTwo.signatures[0].signature }] } as ReleaseManifest;
  assert.throws(() => checkManifest(broken, { ...ctx, trusted: twoOfThree }), /needs 2 of its 3 \(signatures that do not match/);
  // A stranger's signature adds nothing; tampering after signing breaks every signature.
  const stranger = createPrivateKey(generateReleaseKeyPair().privateKeyPem);
  assert.equal(refusal(signManifest(unsigned(), [privates[0], stranger]), { ...ctx, trusted: twoOfThree }), 'E_MANIFEST_THRESHOLD');
  assert.equal(refusal({ ...byTwo, url: 'http://evil.example/x.onnx' } as ReleaseManifest, { ...ctx, trusted: twoOfThree }), 'E_MANIFEST_SIGNATURE');
  assert.throws(() => signManifest(unsigned(), [privates[0], privates[0]]), /given twice/);
  assert.throws(() => new TrustedKeys([{ publicKey: keys[0].publicKeyPem }], 2), /threshold of 2 signatures cannot be met by 1 trusted key/);
});

function keySet(version: number, members: number[], threshold: number, signers: number[], extra: Partial<KeySet> = {}): KeySet {
  return signKeySet(
    { version, threshold, keys: members.map((i) => ({ publicKey: rawKey(createPublicKey(keys[i].publicKeyPem)).toString('base64') })), issuedAt: NOW - 1000, expires: NOW + 86_400_000, ...extra },
    signers.map((i) => privates[i]),
  );
}

test('key rotation: a new set is taken only when signed by the threshold of the keys trusted now and of its own keys, and only forward', () => {
  const now = { trusted: twoOfThree, version: 0 };
  // Replace key 1 (lost) by a new set {0, 2} with threshold 2, signed by the two remaining holders.
  const rotated = acceptKeySet(keySet(1, [0, 2], 2, [0, 2]), now, NOW);
  assert.deepEqual(rotated.ids.sort(), [keys[0].keyId, keys[2].keyId].sort());
  assert.equal(rotated.threshold, 2);
  // One old key alone cannot rotate (a thief with one laptop).
  assert.throws(() => acceptKeySet(keySet(1, [1], 1, [1]), now, NOW), (err: Error & { code: string }) => err.code === 'E_KEYS_UNTRUSTED' && /signed by 1 of the keys this device trusts .* it needs 2/.test(err.message));
  // New keys must sign too: a set naming keys nobody holds would strand the fleet.
  const fresh = generateReleaseKeyPair();
  const unproven = signKeySet(
    { version: 1, threshold: 1, keys: [{ publicKey: fresh.publicKeyPem }], issuedAt: NOW - 1000, expires: NOW + 86_400_000 },
    [privates[0], privates[1]],
  );
  assert.throws(() => acceptKeySet(unproven, now, NOW), (err: Error & { code: string }) => err.code === 'E_KEYS_UNPROVEN');
  // Versions only grow; an expired set and an impossible threshold are refused.
  assert.throws(() => acceptKeySet(keySet(1, [0, 2], 2, [0, 2]), { trusted: rotated, version: 1 }, NOW), (err: Error & { code: string }) => err.code === 'E_KEYS_REPLAYED');
  assert.throws(() => acceptKeySet(keySet(2, [0, 2], 2, [0, 2], { expires: NOW - 1 }), now, NOW), (err: Error & { code: string }) => err.code === 'E_KEYS_EXPIRED');
  assert.throws(() => acceptKeySet(keySet(2, [0], 2, [0, 2]), now, NOW), (err: Error & { code: string }) => err.code === 'E_KEYS_INVALID');
  // After the rotation, manifests signed by the lost key no longer count.
  assert.equal(refusal(signManifest(unsigned(), [privates[0], privates[1]]), { ...ctx, trusted: rotated }), 'E_MANIFEST_THRESHOLD');
  assert.equal(refusal(signManifest(unsigned(), [privates[0], privates[2]]), { ...ctx, trusted: rotated }), 'accepted');
  // The key set is a valid keys/set payload.
  assert.equal(parsePayload('keysSet', JSON.stringify(keySet(3, [0, 2], 2, [0, 2]))).version, 3);
});

test('version comparison is numeric', () => {
  assert.equal(compareVersions('0.10.0', '0.9.9'), 1);
  assert.equal(compareVersions('1.0.0', '1.0.0-rc1'), 0);
  assert.equal(compareVersions('0.1.0', '0.2.0'), -1);
});
