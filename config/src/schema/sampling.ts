import { z } from 'zod';
import type { ConfigContext } from '../context.js';
import { ALWAYS, backoff, byteSize, filePath, fraction, isRecord, name, nonNegativeInt, positiveInt, text } from './common.js';

/**
 * Active learning: which processed frames the agent keeps for labelling, how much of them the
 * disk may hold, and how they reach the hub. Strategies are declared once for every camera and
 * may be overridden per camera under `cameras.<name>.strategies` (only the fields that differ).
 */

export const STRATEGY_NAMES = ['uncertainty', 'random', 'rareClass', 'countChange', 'disagreement', 'drift'] as const;
export type StrategyName = (typeof STRATEGY_NAMES)[number];

/** Token buckets: at most this many kept frames per minute / hour / day; a horizon left out is unlimited. */
const quota = z
  .strictObject({
    perMinute: nonNegativeInt.optional(),
    perHour: nonNegativeInt.optional(),
    perDay: nonNegativeInt.optional(),
  })
  .describe('kept frames allowed per minute / hour / day (token buckets; 0 keeps none; left out: no limit)');

const enabled = z.boolean();

/** Every strategy's fields, without defaults: the shape of a per-camera override. */
const strategyShapes = {
  uncertainty: {
    enabled,
    low: fraction,
    high: fraction,
    quota,
  },
  random: {
    enabled,
    probability: fraction.describe('chance that any processed frame is kept'),
    quota,
  },
  rareClass: {
    enabled,
    minCount: positiveInt.describe('a label seen in fewer frames than this over the window is rare'),
    windowHours: z.number().positive(),
    minScore: fraction.describe('detections below this score do not count as seen'),
    quota,
  },
  countChange: {
    enabled,
    minJump: positiveInt.describe('keep a frame whose object count differs from the moving average by at least this'),
    window: positiveInt.describe('frames in the moving average (no decision until that many were seen)'),
    minScore: fraction,
    quota,
  },
  disagreement: {
    enabled,
    iou: fraction.describe('a primary and a shadow detection of the same label match at this IoU or more'),
    minScore: fraction,
    minUnmatched: positiveInt.describe('keep a frame when at least this many detections have no match in the other model'),
    quota,
  },
  drift: {
    enabled,
    probability: fraction.describe('chance that a processed frame is kept while its camera is drifted'),
    quota,
  },
} as const;

/** low < high, checked wherever an uncertainty band is written (defaults or a camera override). */
function checkBand(value: unknown, refinement: z.RefinementCtx): void {
  if (!isRecord(value)) return;
  const { low, high } = value;
  if (typeof low === 'number' && typeof high === 'number' && low >= high) {
    refinement.addIssue({ code: 'custom', path: ['high'], message: `must be above low (${low})` });
  }
}

const strategyDefaults = z
  .strictObject({
    uncertainty: z
      .strictObject({
        enabled: enabled.default(true),
        low: fraction.default(0.3),
        high: fraction.default(0.6),
        quota: quota.prefault({ perMinute: 2, perHour: 30, perDay: 300 }),
      })
      .superRefine(checkBand, ALWAYS)
      .prefault({}),
    random: z
      .strictObject({
        enabled: enabled.default(false),
        probability: strategyShapes.random.probability.default(0.001),
        quota: quota.prefault({ perMinute: 1, perHour: 10, perDay: 100 }),
      })
      .prefault({}),
    rareClass: z
      .strictObject({
        enabled: enabled.default(false),
        minCount: strategyShapes.rareClass.minCount.default(20),
        windowHours: strategyShapes.rareClass.windowHours.default(24),
        minScore: strategyShapes.rareClass.minScore.default(0.35),
        quota: quota.prefault({ perMinute: 2, perHour: 20, perDay: 200 }),
      })
      .prefault({}),
    countChange: z
      .strictObject({
        enabled: enabled.default(false),
        minJump: strategyShapes.countChange.minJump.default(3),
        window: strategyShapes.countChange.window.default(30),
        minScore: strategyShapes.countChange.minScore.default(0.35),
        quota: quota.prefault({ perMinute: 1, perHour: 20, perDay: 200 }),
      })
      .prefault({}),
    disagreement: z
      .strictObject({
        enabled: enabled.default(false),
        iou: strategyShapes.disagreement.iou.default(0.5),
        minScore: strategyShapes.disagreement.minScore.default(0.35),
        minUnmatched: strategyShapes.disagreement.minUnmatched.default(1),
        quota: quota.prefault({ perMinute: 2, perHour: 30, perDay: 300 }),
      })
      .prefault({}),
    // Acts only while the drift monitor says the camera drifted (drift.boostSampler): what the
    // model now sees differs from what it was validated on, so those frames are worth labelling.
    drift: z
      .strictObject({
        enabled: enabled.default(true),
        probability: strategyShapes.drift.probability.default(0.05),
        quota: quota.prefault({ perMinute: 2, perHour: 30, perDay: 200 }),
      })
      .prefault({}),
  })
  .describe('what makes a frame worth keeping, for every camera (all enabled strategies are combined: any may keep a frame)');

/** A camera's override: any field of any strategy, nothing required. */
const strategyOverrides = z.strictObject({
  uncertainty: z.strictObject(strategyShapes.uncertainty).partial().superRefine(checkBand, ALWAYS).optional(),
  random: z.strictObject(strategyShapes.random).partial().optional(),
  rareClass: z.strictObject(strategyShapes.rareClass).partial().optional(),
  countChange: z.strictObject(strategyShapes.countChange).partial().optional(),
  disagreement: z.strictObject(strategyShapes.disagreement).partial().optional(),
  drift: z.strictObject(strategyShapes.drift).partial().optional(),
});

const cameraOverride = z.strictObject({
  enabled: z.boolean().optional().describe('false: never sample this camera'),
  strategies: strategyOverrides.optional(),
});

function upload(ctx: ConfigContext) {
  return z
    .strictObject({
      transport: z
        .enum(['none', 'http', 'mqtt'])
        .default('none')
        .describe('http: to the hub (kestrel hub) in batches; mqtt: on <prefix>/<device>/samples; none: keep them on this device'),
      url: z
        .string()
        .regex(/^https?:\/\/[^\s/]+/, 'must be the hub\'s http:// or https:// URL, e.g. https://hub.example.net:8443')
        .optional(),
      token: text.optional().describe('this device\'s hub token (kestrel hub device add <name>); write it as ${ENV_VAR}'),
      ca: filePath(ctx).optional().describe('PEM file of the CA that signed the hub\'s certificate'),
      rejectUnauthorized: z.boolean().default(true).describe('false accepts any hub certificate: for testing only'),
      batchSize: positiveInt.max(64).default(8),
      timeoutSeconds: z.number().min(1, 'must be at least 1 (seconds an upload may take)').default(30),
      idleSeconds: z.number().min(0.1, 'must be at least 0.1 (seconds between looks for samples)').default(5).describe('how often an idle uploader looks for samples it was not told about'),
      backoff: backoff({ minMs: 1000, maxMs: 300_000 }).prefault({}),
    })
    .superRefine((value: unknown, refinement) => {
      if (!isRecord(value) || value.transport !== 'http') return;
      if (value.url === undefined) refinement.addIssue({ code: 'custom', path: ['url'], message: 'is required when transport is http (the hub\'s URL)' });
      if (value.token === undefined) refinement.addIssue({ code: 'custom', path: ['token'], message: 'is required when transport is http (issue one with: kestrel hub device add <device id>)' });
    }, ALWAYS);
}

export function samplingSchema(ctx: ConfigContext) {
  return z
    .strictObject({
      enabled: z.boolean().default(false),
      path: filePath(ctx).optional().describe('folder of the sample buffer: JPEG files and index.sqlite (default: <stateDir>/samples)'),
      budget: z
        .strictObject({
          maxBytes: byteSize.default(256 * 2 ** 20).describe('JPEG bytes kept on this device; the oldest samples go first'),
          maxAgeHours: z.number().positive().default(14 * 24),
        })
        .prefault({}),
      jpegQuality: positiveInt.max(100).default(85),
      dedup: z
        .strictObject({
          enabled: z.boolean().default(true),
          maxDistance: nonNegativeInt.max(64).default(4).describe('a frame whose 64-bit dHash differs in at most this many bits from a recent sample is a duplicate'),
          recent: positiveInt.default(256).describe('recent samples compared against, per camera'),
          windowMinutes: z.number().positive().default(60).describe('samples older than this no longer count as recent'),
        })
        .prefault({}),
      quota: quota.prefault({ perHour: 60, perDay: 600 }).describe('all cameras and strategies together'),
      strategies: strategyDefaults.prefault({}),
      cameras: z.record(name, cameraOverride).default({}).describe('per camera name: enabled, and strategy fields that differ from `strategies`'),
      upload: upload(ctx).prefault({}),
    })
    .superRefine((value, refinement) => {
      // A camera's band is whole only with the defaults it does not override.
      for (const [camera, override] of Object.entries(value.cameras)) {
        const band = override.strategies?.uncertainty;
        if (!band) continue;
        const low = band.low ?? value.strategies.uncertainty.low;
        const high = band.high ?? value.strategies.uncertainty.high;
        if (low >= high) {
          const field = band.high === undefined ? 'low' : 'high';
          const message = field === 'high' ? `must be above low (${low})` : `must be below high (${high})`;
          refinement.addIssue({ code: 'custom', path: ['cameras', camera, 'strategies', 'uncertainty', field], message });
        }
      }
    });
}

export type SamplingConfig = z.output<ReturnType<typeof samplingSchema>>;
export type SamplingQuota = z.output<typeof quota>;
export type StrategyConfigs = SamplingConfig['strategies'];
export type SamplingUploadConfig = SamplingConfig['upload'];
