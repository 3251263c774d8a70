import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import {
  canonicalJson, checkManifest, compareVersions, generateReleaseKeyPair, keyIdOf, parsePayload, rawPublicKey, signManifest,
  signatureValid, TrustedKeys, type ReleaseManifest, type UnsignedManifest,
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
  assert.equal(signatureValid(manifest, createPublicKey(hub.publicKeyPem)), true);
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

test('version comparison is numeric', () => {
  assert.equal(compareVersions('0.10.0', '0.9.9'), 1);
  assert.equal(compareVersions('1.0.0', '1.0.0-rc1'), 0);
  assert.equal(compareVersions('0.1.0', '0.2.0'), -1);
});
