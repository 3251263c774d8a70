import { z } from 'zod';
import { parsePublicKey, PUBLIC_KEY_FORMS } from '@kestrel/core/release/keys';
import { positiveInt, text } from './common.js';

/**
 * Fleet model updates: which release-signing keys this device trusts, and how a new model is
 * tried and watched before it stays. Off unless enabled: a device takes no model it was not
 * configured to trust.
 */
const trustedKey = z.strictObject({
  // Parsed here as the updater will parse it, so a key that would not load fails `config check`.
  publicKey: text
    .superRefine((value, refinement) => {
      try {
        parsePublicKey(value, 'the key');
      } catch (err) {
        refinement.addIssue({ code: 'custom', message: (err as Error).message });
      }
    })
    .describe(`Ed25519 release key: ${PUBLIC_KEY_FORMS} (\`kestrel deploy keygen\` writes PEM)`),
  keyId: z.string().regex(/^[0-9a-f]{16}$/, 'must be 16 lower-case hex digits (as `kestrel deploy keygen` prints)').optional(),
  notAfter: z.number().int().positive().optional().describe('epoch ms after which this key is no longer trusted (key rotation)'),
});

const fraction = z.number().min(0).max(1);

export const updateSchema = z
  .strictObject({
    enabled: z.boolean().default(false),
    trustedKeys: z.array(trustedKey).default([]),
    threshold: positiveInt
      .max(16)
      .default(1)
      .describe('how many of the trusted keys must sign a release (k of n); with 2 or more, one stolen or lost key can neither push a model nor strand the fleet'),
    /** Sent as `Authorization: Bearer` when downloading artifacts from the hub. */
    hubToken: text.optional().describe('device token from `kestrel hub device add` (secret: use ${ENV_VAR})'),
    smoke: z
      .strictObject({
        loadTimeoutMs: positiveInt.optional(),
        frameBudgetMs: positiveInt.optional().describe('each smoke-test inference must finish within this'),
        maxFrames: positiveInt.optional(),
      })
      .prefault({}),
    watch: z
      .strictObject({
        watchMs: positiveInt.min(1000, 'must be at least 1000 (milliseconds of watching a new model)').optional().describe('how long after a swap the new model is watched (default 5 min)'),
        minFrames: positiveInt.optional(),
        maxFailureRatio: fraction.optional(),
        maxInferenceMs: positiveInt.optional(),
        minDetectionRatio: fraction.optional(),
        minBaselineDetections: positiveInt.optional(),
        maxConfidencePsi: z
          .number()
          .positive()
          .nullable()
          .optional()
          .describe('roll back (reason code quality) when the new model\'s confidence histogram shifts down from the previous model\'s by more than this PSI (default 0.25; null: never) and its mean score is lower by more than maxConfidenceDrop'),
        maxConfidenceDrop: fraction.optional().describe('how much lower the new model\'s mean score may be before a confidence shift counts (default 0.15)'),
      })
      .prefault({}),
    download: z.strictObject({ deadlineMs: positiveInt.optional(), idleTimeoutMs: positiveInt.optional() }).prefault({}),
    // A candidate the hub asks to run beside the current model (`kestrel deploy shadow start`),
    // checked with the same trusted keys; never swapped in.
    shadow: z
      .strictObject({
        enabled: z.boolean().default(true).describe('take shadow comparisons the hub sends (needs update.enabled: the manifest is checked with its trusted keys)'),
        reportIntervalS: positiveInt.max(3600).default(60).describe('seconds between shadow reports on <prefix>/<device>/shadow'),
      })
      .prefault({}),
  })
  .superRefine((value, ctx) => {
    if (value.enabled && value.trustedKeys.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['trustedKeys'], message: 'list at least one trusted public key when updates are enabled' });
    }
    if (value.trustedKeys.length > 0 && value.threshold > value.trustedKeys.length) {
      ctx.addIssue({ code: 'custom', path: ['threshold'], message: `needs ${value.threshold} signatures but only ${value.trustedKeys.length} key${value.trustedKeys.length === 1 ? ' is' : 's are'} trusted` });
    }
  });
