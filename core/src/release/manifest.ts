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

export const ReleaseManifestSchema = z.object({
  schema: z.literal(1),
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
  keyId: z.string().regex(KEY_ID_PATTERN, 'must be 16 lower-case hex digits (a release key id)'),
  /** Ed25519 signature, base64, over the canonical JSON of the manifest without this field. */
  signature: z.base64(),
});
export type ReleaseManifest = z.infer<typeof ReleaseManifestSchema>;
export type UnsignedManifest = Omit<ReleaseManifest, 'signature' | 'keyId'>;
