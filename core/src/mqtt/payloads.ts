import { z } from 'zod';
import { topicLevelProblem, type TopicKind } from './topics.js';
import { ReleaseManifestSchema } from '../release/manifest.js';
import { KeySetSchema } from '../release/key-set.js';
import { DriftHistogramsSchema } from '../drift/baseline.js';

/**
 * Every MQTT payload Kestrel publishes or accepts, declared once with zod: the TypeScript types
 * are inferred from these schemas and the JSON Schemas other tools validate with are generated
 * from them (`payloadJsonSchemas()`), so the three can never drift apart.
 *
 * Conventions every payload follows:
 * - `schema` is the payload's version. It changes only when a reader of the old version would
 *   misread the new one; adding an optional field does not change it.
 * - Objects are not strict: a reader ignores fields it does not know, so a newer agent can add
 *   fields without breaking an older hub.
 * - Times are Unix epoch milliseconds (UTC integers): they compare and subtract without parsing,
 *   and latency figures are in milliseconds anyway. (A consumer wanting text: `new Date(ms)`.)
 * - Boxes are `[x1, y1, x2, y2]` in source-image pixels (the camera's frame, not the model input).
 */

const epochMs = z.number().int().nonnegative().describe('Unix time in milliseconds (UTC)');
const nonNegativeInt = z.number().int().nonnegative();
const rate = z.number().nonnegative().describe('per second');
const score = z.number().min(0).max(1);
const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lower-case hex digits (a SHA-256)');
const text = z.string().min(1);

/** A name that is also one MQTT topic level (device ids, camera names). */
const topicName = z.string().superRefine((value, ctx) => {
  const problem = topicLevelProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: `not usable in an MQTT topic: it ${problem}` });
});

export const BoxSchema = z
  .tuple([z.number(), z.number(), z.number(), z.number()])
  .refine(([x1, y1, x2, y2]) => x2 >= x1 && y2 >= y1, 'must be [x1, y1, x2, y2] with x2 >= x1 and y2 >= y1')
  .describe('[x1, y1, x2, y2] in source-image pixels');

const SizeSchema = z.tuple([z.number().int().positive(), z.number().int().positive()]).describe('[width, height] in pixels');

const PercentilesSchema = z
  .object({ p50: z.number().nonnegative(), p99: z.number().nonnegative() })
  .nullable()
  .describe('null until there are samples in the interval');
export type Percentiles = z.infer<typeof PercentilesSchema>;

// ---------------------------------------------------------------------------------- status

/** `<prefix>/<device>/status`: plain text, not JSON, as Home Assistant's availability expects. */
export const AvailabilitySchema = z.enum(['online', 'offline']);
export type Availability = z.infer<typeof AvailabilitySchema>;

// ----------------------------------------------------------------------------------- state

export const CAMERA_STATES = ['connecting', 'streaming', 'stalled', 'failed', 'stopped'] as const;
export type CameraState = (typeof CAMERA_STATES)[number];

export const CameraStatusSchema = z.object({
  state: z.enum(CAMERA_STATES),
  /** Frames processed per second over the last stats interval. */
  fps: rate,
  lastError: z.string().optional(),
  /** When the camera entered `state`. */
  since: epochMs.optional(),
  /** Source restarts since the agent started. */
  restarts: nonNegativeInt.optional(),
});
export type CameraStatus = z.infer<typeof CameraStatusSchema>;

export const LoadedModelSchema = z.object({
  name: text,
  version: text,
  sha256,
  /** `kestrel.decoder` (a string, not an enum, so an older reader accepts a newer decoder). */
  decoder: text,
  labelCount: z.number().int().positive(),
  inputSize: SizeSchema,
  /** The execution provider that loaded the model (tensorrt, cuda, cpu, ...). */
  provider: text,
});
export type LoadedModel = z.infer<typeof LoadedModelSchema>;

/**
 * Cameras are keyed by name (as in Frigate's stats) so a Home Assistant template reads
 * `value_json.cameras.front.state` instead of searching an array.
 */
const camerasRecord = <T extends z.ZodType>(value: T) => z.record(topicName, value);

/** `<prefix>/<device>/state`, retained: what the device runs and how each camera is doing. */
export const DeviceStateSchema = z.object({
  schema: z.literal(1),
  agentVersion: text,
  deviceId: topicName,
  startedAt: epochMs,
  updatedAt: epochMs,
  /** null while no model is loaded (then `degraded` says why). */
  model: LoadedModelSchema.nullable(),
  cameras: camerasRecord(CameraStatusSchema),
  /** Why the device is not fully working, one reason a line; empty when healthy. */
  degraded: z.array(z.string()),
});
export type DeviceState = z.infer<typeof DeviceStateSchema>;

// ---------------------------------------------------------------------------------- events

export const EVENT_TYPES = ['new', 'update', 'end'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** `<prefix>/<device>/<camera>/events`: one step in the life of a tracked object. */
export const DetectionEventSchema = z.object({
  schema: z.literal(1),
  /**
   * Unique per message and the same on every redelivery of it (the outbox delivers at least
   * once): consumers de-duplicate on `id`. The `new`, `update`s and `end` of one object share `trackId`.
   */
  id: z.string().min(1).max(128),
  type: z.enum(EVENT_TYPES),
  deviceId: topicName,
  camera: topicName,
  /** Stable for the object's whole life, and unique per camera across agent restarts. */
  trackId: z.string().min(1).max(128),
  label: text,
  /** The detection score in the frame this message describes. */
  score,
  box: BoxSchema,
  /** Zones the object's bottom centre is in, by name. */
  zones: z.array(z.string()),
  firstSeen: epochMs,
  lastSeen: epochMs,
  /** Capture time of the frame this message describes. */
  frameTime: epochMs,
  modelVersion: text,
  frameSize: SizeSchema.optional(),
  /**
   * Why this message was sent. `new`: `confirmed`; `update`: `zones`, `score` or `moved`; `end`:
   * `lost` (unseen for the camera's lost time), `stopped` (the camera or agent stopped) or
   * `restart` (the track was open when the agent died; the next start ends it). A string, not an
   * enum, so an older reader accepts a reason added later; absent from older agents.
   */
  reason: text.optional(),
});
export type DetectionEvent = z.infer<typeof DetectionEventSchema>;

// ------------------------------------------------------------------------------ detections

export const FrameDetectionSchema = z.object({
  label: text,
  score,
  box: BoxSchema,
  /** Set when the object is tracked (after the tracker has seen it). */
  trackId: z.string().optional(),
});
export type FrameDetection = z.infer<typeof FrameDetectionSchema>;

/** `<prefix>/<device>/<camera>/detections`, QoS 0, off by default: everything found in one frame. */
export const FrameDetectionsSchema = z.object({
  schema: z.literal(1),
  deviceId: topicName,
  camera: topicName,
  frameTime: epochMs,
  frameSize: SizeSchema,
  modelVersion: text,
  inferenceMs: z.number().nonnegative().optional(),
  detections: z.array(FrameDetectionSchema),
  /** Where the frame moved (motion detection), source pixels; absent when the camera's motion is off. */
  motion: z.array(BoxSchema).optional(),
});
export type FrameDetections = z.infer<typeof FrameDetectionsSchema>;

// ------------------------------------------------------------------------------------ clip

/**
 * `<prefix>/<device>/<camera>/clip`: an object's clip is ready, some `postSeconds` after its
 * `end` event (which went out without waiting for it). The MP4 was copied from the camera's
 * stream without re-encoding; `path` is its route on the agent's HTTP server.
 */
export const ClipSchema = z.object({
  schema: z.literal(1),
  /** Unique per message and the same on every redelivery: `<trackId>:clip`. */
  id: z.string().min(1).max(128),
  deviceId: topicName,
  camera: topicName,
  /** The object's `trackId`, as in its events. */
  trackId: z.string().min(1).max(128),
  label: text,
  /** Wall-clock times the clip covers, about one ring segment exact. */
  start: epochMs,
  end: epochMs,
  /** The MP4's own duration. */
  durationS: z.number().positive(),
  bytes: z.number().int().positive(),
  /** On the agent's HTTP server: `/api/cameras/<camera>/clip/<trackId>.mp4`. */
  path: z.string().startsWith('/'),
  /** Set when the clip covers less than the object's time with its margins (a longer object than `maxSeconds`, a gap in the recording). */
  truncated: z.boolean().optional(),
});
export type Clip = z.infer<typeof ClipSchema>;
// ----------------------------------------------------------------------------------- drift

/** One compared histogram: `score` or `area` of one class, or `count` (reported detections per frame). */
export const DriftFigureSchema = z.object({
  histogram: z.enum(['score', 'area', 'count']),
  label: text.optional(),
  psi: z.number().nonnegative(),
  /** Jensen–Shannon distance (log base 2), 0..1. */
  js: z.number().min(0).max(1),
  /** Detections (frames, for `count`) in the window's histogram. */
  n: nonNegativeInt,
});
export type DriftFigure = z.infer<typeof DriftFigureSchema>;

/** Where a camera's baseline came from: the model's metadata, learned on this device, still being learned. */
export const DRIFT_BASELINE_SOURCES = ['model', 'learned', 'learning'] as const;

/** A camera's latest comparison: the figures, in stats; the whole of a drift message. */
export const CameraDriftSchema = z.object({
  /** When the comparison was made. */
  at: epochMs,
  /** Whether the largest PSI is above the threshold (the alert is on). */
  drifted: z.boolean(),
  /** The largest PSI and JS distance of the figures compared (0 until a histogram had enough samples). */
  psi: z.number().nonnegative(),
  js: z.number().min(0).max(1),
  threshold: z.number().positive(),
  worst: DriftFigureSchema.optional(),
  /** Every figure compared this time (at most 32, the largest PSI first). */
  figures: z.array(DriftFigureSchema).max(32),
  /** Reported detections per frame in the window and in the baseline. */
  perFrame: z.number().nonnegative(),
  baselinePerFrame: z.number().nonnegative(),
  baseline: z.enum(DRIFT_BASELINE_SOURCES),
  /** The window's histograms (a few classes at most: the bytes, never pictures). */
  window: DriftHistogramsSchema.optional(),
});
export type CameraDrift = z.infer<typeof CameraDriftSchema>;

/**
 * `<prefix>/<device>/<camera>/drift`, retained, QoS 1: the camera's drift against its model's
 * baseline after each comparison. `drifted` turning true is the alert; turning false clears it;
 * `since` says when the current state began.
 */
export const DriftAlertSchema = CameraDriftSchema.extend({
  schema: z.literal(1),
  deviceId: topicName,
  camera: topicName,
  modelVersion: text,
  /** When `drifted` last changed (the alert was raised or cleared), or the first comparison. */
  since: epochMs,
});
export type DriftAlert = z.infer<typeof DriftAlertSchema>;

// ----------------------------------------------------------------------------------- stats

export const CameraStatsSchema = z.object({
  fpsIn: rate,
  fpsProcessed: rate,
  fpsDropped: rate,
  /** Counters since the agent started: rates hide short bursts, totals do not. */
  framesIn: nonNegativeInt,
  framesProcessed: nonNegativeInt,
  framesDropped: nonNegativeInt,
  /** Frame read → MQTT publish, over the interval. */
  latencyMs: PercentilesSchema,
  /** Frames waiting for inference (latest-frame-wins keeps this at 0 or 1). */
  queue: nonNegativeInt,
  /** Frames motion gating kept from inference (nothing moved, no track needed them), since start. */
  framesSkipped: nonNegativeInt.optional(),
  /** Motion boxes in the camera's latest frame; absent when its motion detection is off. */
  motionBoxes: nonNegativeInt.optional(),
  /** The latest drift comparison, in the first stats after it was made only (a low rate: one per drift.intervalS). */
  drift: CameraDriftSchema.optional(),
});
export type CameraStats = z.infer<typeof CameraStatsSchema>;

/** `<prefix>/<device>/stats`, every `mqtt.statsIntervalSeconds`. */
export const StatsSchema = z.object({
  schema: z.literal(1),
  deviceId: topicName,
  at: epochMs,
  intervalSeconds: z.number().positive(),
  uptimeSeconds: z.number().nonnegative(),
  inference: z.object({
    ms: PercentilesSchema,
    /** Frames waiting for the inference worker, all cameras together. */
    queue: nonNegativeInt,
    provider: z.string().optional(),
  }),
  cameras: camerasRecord(CameraStatsSchema),
  outbox: z.object({
    /** Events written but not yet acknowledged by the broker. */
    depth: nonNegativeInt,
    /** Events dropped by the size/age budget since the agent started. */
    dropped: nonNegativeInt,
  }),
  /** Active learning, when sampling is enabled: totals since the agent started, and the upload backlog. */
  samples: z
    .object({
      considered: nonNegativeInt,
      kept: nonNegativeInt,
      /** Picked by a strategy but not kept: quota spent, near-duplicate, writer busy, write failed. */
      dropped: nonNegativeInt,
      uploaded: nonNegativeInt,
      /** Kept, waiting for upload. */
      backlog: nonNegativeInt,
    })
    .optional(),
});
export type Stats = z.infer<typeof StatsSchema>;

// ----------------------------------------------------------------------------------- model

export const ModelRefSchema = z.object({ name: text, version: text, sha256 });
export type ModelRef = z.infer<typeof ModelRefSchema>;

export const MODEL_UPDATE_STATUSES = ['idle', 'downloading', 'verifying', 'testing', 'applied', 'rejected', 'rollback', 'failed'] as const;
export type ModelUpdateStatus = (typeof MODEL_UPDATE_STATUSES)[number];

/** `<prefix>/<device>/model/state`, retained: the running model and how the last update went. */
export const ModelStateSchema = z.object({
  schema: z.literal(1),
  current: ModelRefSchema.nullable(),
  previous: ModelRefSchema.nullable(),
  status: z.enum(MODEL_UPDATE_STATUSES),
  /** Why the last update was rejected, failed or rolled back. */
  reason: z.string().optional(),
  /**
   * Why a rollback happened, for machines: `crash`, `failures`, `latency`, or `quality` (the new
   * model ran but detected less, or less surely, than the one it replaced). A string, not an enum,
   * so an older reader accepts a code added later.
   */
  reasonCode: z.string().max(64).optional(),
  /** `sequence` of the last manifest the device acted on. */
  sequence: nonNegativeInt.optional(),
  /** The hub release number of `current`, when it came from a release. */
  release: nonNegativeInt.optional(),
  /**
   * After a swap the device watches the new model's live health: `watching` until `watchUntil`,
   * then `passed` (a rollout's next wave waits for this), or status `rollback` with the reason.
   */
  health: z.enum(['watching', 'passed']).optional(),
  watchUntil: epochMs.optional(),
  /** The release keys the device trusts: key set version (0: its config's keys), key ids, threshold. */
  trust: z.object({ version: nonNegativeInt, keys: z.array(z.string()), threshold: z.number().int().positive() }).optional(),
  updatedAt: epochMs,
});
export type ModelState = z.infer<typeof ModelStateSchema>;

/**
 * `<prefix>/<device>/model/set`: a signed release manifest from the hub (declared with the
 * signing code in release/manifest.ts: what is signed and how live together).
 */
export const ModelSetManifestSchema = ReleaseManifestSchema;
export type ModelSetManifest = z.infer<typeof ModelSetManifestSchema>;

// ---------------------------------------------------------------------------------- shadow

/** Share of live frames a shadow candidate sees: more than 0, at most 1. */
export const ShadowShareSchema = z.number().gt(0, 'must be more than 0').max(1, 'must be at most 1 (all frames)');

/**
 * `<prefix>/<device>/model/shadow`, retained, QoS 1: the hub's order to run the candidate of the
 * signed `manifest` beside the current model on `share` of live frames until `until`, or to stop
 * (`action: 'stop'`; `action: 'run'` otherwise). The manifest is checked as an update's would be (signature, expiry, size, hash),
 * but the device never swaps to it. `id` names the shadow run in the hub and in reports.
 */
export const ShadowSetSchema = z.discriminatedUnion('action', [
  z.object({ schema: z.literal(1), action: z.literal('run'), id: text, manifest: ReleaseManifestSchema, share: ShadowShareSchema, until: epochMs }),
  z.object({ schema: z.literal(1), action: z.literal('stop'), id: text }),
]);
export type ShadowSet = z.infer<typeof ShadowSetSchema>;

/** One model's side of a camera's shadow comparison. */
export const ShadowSideSchema = z.object({
  /** Detections over every compared frame (at the camera's minScore and up). */
  detections: nonNegativeInt,
  /** Sum of those detections' scores (mean = scoreSum / detections; sums add across devices). */
  scoreSum: z.number().nonnegative(),
  /** Inference time of the compared frames, milliseconds (the latest window of them). */
  latencyMs: PercentilesSchema,
  latencyMeanMs: z.number().nonnegative().nullable(),
});
export type ShadowSide = z.infer<typeof ShadowSideSchema>;

/**
 * A camera's shadow comparison, totals since the shadow started. Agreement is
 * matched / (current + candidate - matched): a match is a current and a candidate detection of
 * the same label at IoU 0.5 or more (greedy by score), so 1 means the same boxes on every frame.
 */
export const CameraShadowSchema = z.object({
  frames: nonNegativeInt,
  matched: nonNegativeInt,
  agreement: z.number().min(0).max(1).nullable().describe('null until a detection was seen by either model'),
  current: ShadowSideSchema,
  candidate: ShadowSideSchema,
});
export type CameraShadow = z.infer<typeof CameraShadowSchema>;

/** `<prefix>/<device>/shadow`, retained, QoS 1: the device's running shadow comparison. */
export const ShadowReportSchema = z.object({
  schema: z.literal(1),
  deviceId: topicName,
  /** The hub's shadow run this answers. */
  id: text,
  /** `running`; `stopped` (the hub said stop, or `until` passed), `failed` (`reason`: the manifest refused, the download or load failed). */
  status: z.enum(['running', 'stopped', 'failed']),
  reason: z.string().max(500).optional(),
  candidate: ModelRefSchema,
  current: ModelRefSchema.nullable(),
  share: ShadowShareSchema,
  since: epochMs,
  at: epochMs,
  /** Frames the candidate was due but skipped because it was still busy with an earlier one. */
  dropped: nonNegativeInt,
  cameras: z.record(z.string(), CameraShadowSchema),
});
export type ShadowReport = z.infer<typeof ShadowReportSchema>;

// --------------------------------------------------------------------------------- samples

/**
 * `<prefix>/<device>/samples` (and the body items of the hub's HTTP ingest): an active-learning
 * sample, a kept frame with the model's detections as pre-labels. The JPEG shows the camera's
 * whole picture at `imageSize` (the model-input resolution, letterbox padding cut away); boxes
 * are in source pixels like every payload's, so `box × imageSize / frameSize` places them on the JPEG.
 */
export const SampleSchema = z.object({
  schema: z.literal(1),
  /** Unique per device, and the same on every resend: the hub stores a (deviceId, id) once. */
  id: z.string().regex(/^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}$/, 'must be 1-128 letters, digits, "_", "-" or "." (not starting with ".")'),
  deviceId: topicName,
  camera: topicName,
  capturedAt: epochMs,
  /** Why the sampler kept this frame: the strategies (uncertainty, random, rareClass, countChange, disagreement). */
  reasons: z.array(z.string().min(1).max(64)).min(1),
  modelVersion: text,
  frameSize: SizeSchema,
  detections: z.array(FrameDetectionSchema),
  /** The JPEG's pixel size (default: frameSize). */
  imageSize: SizeSchema.optional(),
  /** 64-bit dHash of the picture, 16 hex digits (the device's de-duplication key). */
  hash: z.string().regex(/^[0-9a-f]{16}$/, 'must be 16 lower-case hex digits (a 64-bit dHash)').optional(),
  /** What a shadow model found in the same frame, when one ran (the disagreement strategy). */
  shadow: z.object({ modelVersion: text, detections: z.array(FrameDetectionSchema) }).optional(),
  image: z.object({ contentType: z.literal('image/jpeg'), data: z.base64() }),
});
export type Sample = z.infer<typeof SampleSchema>;

// ------------------------------------------------------------------ label and detect topics

const onOff = z.enum(['ON', 'OFF']);

/**
 * `<prefix>/<device>/<camera>/<label>/count`: the number of open tracks of that label, as plain
 * decimal text (what a Home Assistant sensor reads without a template).
 */
export const LabelCountSchema = z
  .string()
  .regex(/^(0|[1-9][0-9]*)$/, 'must be a whole number written in decimal')
  .transform(Number)
  .describe('the number of open tracks, e.g. "2"');
export type LabelCount = z.output<typeof LabelCountSchema>;

/** `<prefix>/<device>/<camera>/detect/set`: plain `ON` or `OFF` (Home Assistant's switch payloads). */
export const DetectSetSchema = onOff;
/** `<prefix>/<device>/<camera>/detect/state`, retained: whether the camera's frames go to inference. */
export const DetectStateSchema = onOff;

/**
 * `<prefix>/<device>/<camera>/<label>/snapshot`, retained: a JPEG as it is (Frigate's and Home
 * Assistant's MQTT camera read raw image bytes), so it carries no `schema`. Checked by its start
 * (SOI and a marker), which is what tells a picture from a stray text payload.
 */
export const SnapshotSchema = z.custom<Buffer>((v) => Buffer.isBuffer(v) && v.length > 3 && v[0] === 0xff && v[1] === 0xd8 && v[2] === 0xff, 'must be a JPEG (starting FF D8 FF)');
export type DetectSwitch = z.infer<typeof DetectSetSchema>;

// ----------------------------------------------------------------------- Home Assistant

/** `<discovery>/status`: Home Assistant's birth (`online`) and last will (`offline`). */
export const HaStatusSchema = z.enum(['online', 'offline']);
export type HaStatus = z.infer<typeof HaStatusSchema>;

const haTopic = z.string().min(1);

/**
 * A Home Assistant MQTT discovery config, in Home Assistant's own format and key names (so no
 * Kestrel `schema` field: Home Assistant's schema, documented at
 * https://www.home-assistant.io/integrations/mqtt/#mqtt-discovery and per platform, is the
 * contract). Only the keys Kestrel writes are declared; which are required per component is
 * checked against Home Assistant's documentation in test/agent/homeassistant-discovery.test.ts.
 */
export const HaEntityConfigSchema = z.object({
  name: z.string().min(1),
  unique_id: z.string().min(1),
  /** Suggests the entity id (`binary_sensor.<object_id>`). */
  object_id: z.string().regex(/^[A-Za-z0-9_-]+$/).optional(),
  device: z.object({
    identifiers: z.array(z.string().min(1)).min(1),
    name: z.string().min(1),
    manufacturer: z.string().optional(),
    model: z.string().optional(),
    sw_version: z.string().optional(),
  }),
  /** Who wrote the config (Home Assistant logs it with discovery problems). */
  origin: z.object({ name: z.string().min(1), sw_version: z.string().optional(), support_url: z.string().optional() }).optional(),
  availability: z.array(z.object({ topic: haTopic, payload_available: z.string(), payload_not_available: z.string() })).min(1),
  state_topic: haTopic.optional(),
  /** A Home Assistant template turning the state topic's payload into the entity's state. */
  value_template: z.string().min(1).optional(),
  command_topic: haTopic.optional(),
  payload_on: z.string().optional(),
  payload_off: z.string().optional(),
  state_on: z.string().optional(),
  state_off: z.string().optional(),
  device_class: z.string().optional(),
  /** A camera's image topic (raw JPEG bytes). */
  topic: haTopic.optional(),
  state_class: z.enum(['measurement', 'total', 'total_increasing']).optional(),
  unit_of_measurement: z.string().optional(),
  entity_category: z.enum(['config', 'diagnostic']).optional(),
  icon: z.string().optional(),
  qos: z.union([z.literal(0), z.literal(1), z.literal(2)]).optional(),
  optimistic: z.boolean().optional(),
});
export type HaEntityConfig = z.infer<typeof HaEntityConfigSchema>;

/**
 * `<discovery>/<component>/<node>/<object>/config`, retained: an entity's config, or the empty
 * payload that removes the entity (Home Assistant's documented way to delete a discovered entity).
 */
export const HaDiscoverySchema = z.union([z.literal(''), HaEntityConfigSchema]);
export type HaDiscovery = z.infer<typeof HaDiscoverySchema>;


// ------------------------------------------------------------------------------------ map

/** The payload schema of every topic kind. */
export const PAYLOAD_SCHEMAS = {
  status: AvailabilitySchema,
  state: DeviceStateSchema,
  stats: StatsSchema,
  modelSet: ModelSetManifestSchema,
  keysSet: KeySetSchema,
  modelState: ModelStateSchema,
  shadowSet: ShadowSetSchema,
  shadowReport: ShadowReportSchema,
  samples: SampleSchema,
  events: DetectionEventSchema,
  detections: FrameDetectionsSchema,
  clip: ClipSchema,
  drift: DriftAlertSchema,
  labelCount: LabelCountSchema,
  snapshot: SnapshotSchema,
  detectSet: DetectSetSchema,
  detectState: DetectStateSchema,
  haStatus: HaStatusSchema,
  haDiscovery: HaDiscoverySchema,
} as const satisfies Record<TopicKind, z.ZodType>;

export type PayloadOf<K extends TopicKind> = z.output<(typeof PAYLOAD_SCHEMAS)[K]>;

/**
 * How each kind's payload is written: `text` (plain words or numbers, what Home Assistant reads
 * without a template), `json` (Kestrel's JSON with a `schema` version), or `foreign-json` (a
 * format someone else defines: Home Assistant's discovery configs; the empty payload removes), or
 * `binary` (bytes as they are: snapshots' JPEGs).
 */
export const PAYLOAD_FORMATS = {
  status: 'text',
  state: 'json',
  stats: 'json',
  modelSet: 'json',
  modelState: 'json',
  keysSet: 'json',
  shadowSet: 'json',
  shadowReport: 'json',
  samples: 'json',
  events: 'json',
  detections: 'json',
  clip: 'json',
  drift: 'json',
  labelCount: 'text',
  snapshot: 'binary',
  detectSet: 'text',
  detectState: 'text',
  haStatus: 'text',
  haDiscovery: 'foreign-json',
} as const satisfies Record<TopicKind, 'text' | 'json' | 'foreign-json' | 'binary'>;

export type VersionedTopicKind = { [K in TopicKind]: (typeof PAYLOAD_FORMATS)[K] extends 'json' ? K : never }[TopicKind];

/** The `schema` literals of a payload schema: one, or one per form of a union (manifests signed by one key or several). */
function versionsOf(schema: z.ZodType): number[] {
  if (schema instanceof z.ZodDiscriminatedUnion) return (schema.options as z.ZodType[]).flatMap(versionsOf);
  return [(schema as z.ZodObject<{ schema: z.ZodLiteral<number> }>).shape.schema.value];
}

/**
 * The `schema` versions this code reads, per versioned JSON topic kind, read from the schemas'
 * `schema` literals so there is one place to bump a version.
 */
export const PAYLOAD_VERSIONS = Object.fromEntries(
  Object.entries(PAYLOAD_SCHEMAS)
    .filter(([kind]) => PAYLOAD_FORMATS[kind as TopicKind] === 'json')
    .map(([kind, schema]) => [kind, versionsOf(schema as z.ZodType)]),
) as unknown as Readonly<Record<VersionedTopicKind, readonly number[]>>;
