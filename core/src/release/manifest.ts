import { z } from 'zod';

/**
 * The signed release manifest: what the hub publishes on `<prefix>/<device>/model/set` and a
 * device checks before it downloads anything. Every field but `signature` is signed (over the
 * canonical JSON, see canonical-json.ts), so nothing a device acts on can be changed in transit:
 * not the URL, not the hash, not the expiry, not the rollback flag.
 */

const epochMs = z.number().int().nonnegative().describe('Unix time in milliseconds (UTC)');
const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lower-case hex digits (a SHA-256)');
const text = z.string().min(1);

export const KEY_ID_PATTERN = /^[0-9a-f]{16}$/;

export const ReleaseMetadataSummarySchema = z.object({
  decoder: text,
  labelCount: z.number().int().positive(),
  /** [width, height] of the model input: a device refuses a model its cameras are not scaled for. */
  inputSize: z.tuple([z.number().int().positive(), z.number().int().positive()]),
});
export type ReleaseMetadataSummary = z.infer<typeof ReleaseMetadataSummarySchema>;

/** What every manifest says, whoever signed it. */
const manifestBody = {
  name: text,
  version: text,
  /** The hub's number for this release, growing with every release: installing a lower one is a downgrade. */
  release: z.number().int().positive(),
  sha256,
  size: z.number().int().positive(),
  /** Where the artifact is downloaded from (HTTP Range supported). */
  url: z.url({ protocol: /^https?$/ }),
  metadata: ReleaseMetadataSummarySchema,
  /** Evaluation figures the release was made with (mAP, latency...), for operators. */
  eval: z.record(z.string(), z.number()).optional(),
  notes: z.string().max(2000).optional(),
  /** Agents older than this refuse the release (x.y.z). */
  minAgentVersion: z.string().regex(/^\d+\.\d+\.\d+$/, 'must be x.y.z').optional(),
  /**
   * Grows with every manifest the hub issues (fleet-wide): a device refuses any sequence not above
   * the last one it acted on, so a captured manifest can never be replayed.
   */
  sequence: z.number().int().positive(),
  issuedAt: epochMs,
  /** After this the manifest is refused (a manifest held back and delivered late). */
  expires: epochMs,
  /** An explicit, signed downgrade: only then may `release` be lower than the running one. */
  rollback: z.boolean().optional(),
};

const keyId = z.string().regex(KEY_ID_PATTERN, 'must be 16 lower-case hex digits (a release key id)');

/** One key's signature: Ed25519, base64, over the canonical JSON of the manifest without its signatures. */
export const ManifestSignatureSchema = z.object({ keyId, signature: z.base64() });
export type ManifestSignature = z.infer<typeof ManifestSignatureSchema>;

/** Signed by one key (the key id is part of what it signed). What a hub with one key issues, and what older agents read. */
export const SingleSignedManifestSchema = z.object({
  schema: z.literal(1),
  ...manifestBody,
  keyId,
  /** Ed25519 signature, base64, over the canonical JSON of the manifest without this field. */
  signature: z.base64(),
});

/**
 * Signed by several keys, each over the same bytes (the manifest without `signatures`): a device
 * that trusts n keys with a threshold k acts only on k valid signatures by distinct trusted keys
 * (TUF's threshold signatures), so one stolen laptop key can neither push a model nor, lost,
 * strand the fleet.
 */
export const MultiSignedManifestSchema = z.object({
  schema: z.literal(2),
  ...manifestBody,
  signatures: z.array(ManifestSignatureSchema).min(1).max(16),
});

export const ReleaseManifestSchema = z.discriminatedUnion('schema', [SingleSignedManifestSchema, MultiSignedManifestSchema]);
export type ReleaseManifest = z.infer<typeof ReleaseManifestSchema>;
/** A manifest before it is signed: the body both forms share. */
export type UnsignedManifest = Omit<z.infer<typeof SingleSignedManifestSchema>, 'schema' | 'signature' | 'keyId'>;

/** Every (key, signature) of a manifest, whichever form it has. */
export function manifestSignatures(manifest: ReleaseManifest): ManifestSignature[] {
  return manifest.schema === 1 ? [{ keyId: manifest.keyId, signature: manifest.signature }] : manifest.signatures;
}
