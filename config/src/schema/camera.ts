import { z } from 'zod';
import type { ConfigContext } from '../context.js';
import { ALWAYS, backoff, byteSize, filePath, isRecord, fraction, name, positiveInt, reportDuplicates, text } from './common.js';

/** One camera: where frames come from and what is worth reporting. */

const rtspSource = z.strictObject({
  type: z.literal('rtsp'),
  url: z
    .string()
    .regex(/^rtsps?:\/\/[^\s/]+/, 'must be an rtsp:// or rtsps:// URL, e.g. rtsp://user:pass@192.168.1.10:554/stream1')
    .describe('credentials may be written as ${ENV_VAR}'),
  transport: z.enum(['tcp', 'udp']).default('tcp').describe('RTP over the RTSP TCP connection (robust through NAT and lossy Wi-Fi) or over UDP'),
});

function fileSource(ctx: ConfigContext) {
  return z.strictObject({
    type: z.literal('file'),
    path: filePath(ctx).describe('a video file ffmpeg can read'),
    loop: z.boolean().default(true).describe('start again at the end'),
    realtime: z.boolean().default(true).describe('read at the file\'s own frame rate (false: as fast as inference goes)'),
  });
}

const v4l2Source = z
  .strictObject({
    type: z.literal('v4l2'),
    device: text.regex(/^\//, 'must be a device path such as /dev/video0').default('/dev/video0'),
    width: positiveInt.optional(),
    height: positiveInt.optional(),
    inputFormat: text.regex(/^[a-z0-9_]+$/i, 'must be a pixel format name such as mjpeg or yuyv422').optional().describe('ffmpeg -input_format, e.g. mjpeg or yuyv422'),
  })
  .superRefine((value: unknown, ctx) => {
    // ffmpeg's -video_size takes both or neither.
    if (!isRecord(value)) return;
    if ((value.width === undefined) !== (value.height === undefined)) {
      ctx.addIssue({ code: 'custom', path: [value.width === undefined ? 'width' : 'height'], message: 'give width and height together, or neither' });
    }
  }, ALWAYS);

/** The built-in moving picture made from test photographs: something to detect with no camera at all. */
const demoSource = z.strictObject({ type: z.literal('demo') });

const point = z.tuple([z.number(), z.number()]).describe('[x, y] in source-image pixels');

const zone = z.strictObject({
  name,
  polygon: z
    .array(point)
    .min(3, 'needs at least 3 points ([x, y] in source pixels)')
    .describe('an object is in the zone when the bottom centre of its box is inside'),
});

/** Twice the signed area of a polygon (shoelace); 0 when its points lie on one line. */
function doubledArea(points: readonly unknown[]): number {
  let sum = 0;
  for (let i = 0; i < points.length; i++) {
    const a = points[i];
    const b = points[(i + 1) % points.length];
    if (!Array.isArray(a) || !Array.isArray(b) || typeof a[0] !== 'number' || typeof a[1] !== 'number' || typeof b[0] !== 'number' || typeof b[1] !== 'number') return NaN;
    sum += a[0] * b[1] - b[0] * a[1];
  }
  return sum;
}

const mask = z.strictObject({
  name: name.optional().describe('for people reading the config and the logs; unique when given'),
  polygon: z
    .array(point)
    .min(3, 'needs at least 3 points ([x, y] in source pixels)')
    // A mask that covers nothing hides nothing: the person who drew it believes an area is private that is not.
    .superRefine((points, ctx) => {
      if (points.length >= 3 && doubledArea(points) === 0) ctx.addIssue({ code: 'custom', message: 'has no area (its points lie on one line), so it would hide nothing' });
    })
    .describe('blanked in every frame; [x, y] in source pixels like zones, points outside the picture are allowed (a mask may run past the edge)'),
});

const privacy = z.strictObject({
  masks: z
    .array(mask)
    .default([])
    .superRefine((masks, ctx) => reportDuplicates(masks, 'name', 'mask name', ctx), ALWAYS)
    .describe('areas blanked (black) in every frame before the agent keeps or sends any picture of it (samples on the device and on the hub)'),
  maskBeforeInference: z
    .boolean()
    .default(true)
    .describe(
      'true: the model never sees a masked area, so nothing there is detected, tracked or reported (what a privacy mask promises, like a camera\'s own ' +
        'privacy mask; Frigate\'s motion and object masks only ignore motion or drop objects and keep the pixels). false: objects there are still ' +
        'detected and their events sent, but no kept picture shows them',
    ),
});

// The defaults of the score thresholds that depend on each other (see the camera's refinement).
const DEFAULT_MIN_SCORE = 0.35;
const DEFAULT_LOW_SCORE = 0.1;
const DEFAULT_START_SCORE = 0.5;
const DEFAULT_STATIONARY_LOST_SECONDS = 30;
const DEFAULT_RECHECK_SECONDS = 5;

const filters = z.strictObject({
  classes: z.array(text).min(1, 'list at least one label, or leave classes out to keep every label').optional().describe('labels to report; all when left out'),
  minScore: fraction.default(DEFAULT_MIN_SCORE).describe('detections from this score are reported and matched first'),
  minArea: z.number().nonnegative().default(0).describe('smallest box area reported, in source pixels²'),
  zones: z
    .array(zone)
    .default([])
    .superRefine((zones, ctx) => reportDuplicates(zones, 'name', 'zone name', ctx), ALWAYS),
});

/** Labels a detector confuses on one object (one bag is a backpack in one frame, a handbag in the next). */
const DEFAULT_CLASS_GROUPS = [
  ['backpack', 'handbag', 'suitcase'],
  ['car', 'truck', 'bus'],
  ['bicycle', 'motorcycle'],
];

// Defaults fit a street camera at 5-10 fps with people walking: an object is reported after 3
// sightings, survives 3 s unseen (a person hidden behind another, a bus passing in front), and a
// thing that stands still (a parked car, a left bag) survives 30 s of missed detections.
const tracker = z.strictObject({
  minHits: positiveInt.default(3).describe('frames an object must be seen before its `new` event'),
  lostSeconds: z.number().positive().max(3600).default(3).describe('seconds an unseen object keeps its track before its `end` event; it comes back as itself within this time'),
  stationaryLostSeconds: z.number().positive().max(3600).default(DEFAULT_STATIONARY_LOST_SECONDS).describe('the same for an object that has stood still (parked car, left bag): detectors miss these often'),
  iouThreshold: z.number().gt(0).lt(1).default(0.3).describe('least overlap of a confident detection with a track\'s predicted box to continue it'),
  // Above 0: the detector runs at this threshold, and at 0 it would hand over every candidate box.
  lowScore: z.number().gt(0).max(1).optional().describe('the detector\'s threshold: weaker detections down to this score continue tracks but never start one (default: 0.1, or filters.minScore when lower)'),
  lowIouThreshold: z.number().gt(0).lt(1).default(0.5).describe('least overlap for a weak detection to continue a track (stricter: weak detections are less sure)'),
  startScore: fraction.optional().describe('score a detection needs to start a track (default: 0.5, or filters.minScore when higher)'),
  classGroups: z
    .array(z.array(text).min(2, 'a group needs at least two labels'))
    .default(DEFAULT_CLASS_GROUPS)
    .describe('labels one object may flicker between; a track matches any label of its group and takes the label most of its detections had')
    .superRefine((groups, ctx) => {
      const seen = new Map<string, number>();
      groups.forEach((group, i) => {
        if (!Array.isArray(group)) return;
        group.forEach((label, k) => {
          const at = seen.get(label);
          if (at !== undefined) ctx.addIssue({ code: 'custom', path: [i, k], message: `label "${label}" is already in group [${at}]; a label belongs to one group` });
          else seen.set(label, i);
        });
      });
    }, ALWAYS),
});

// Defaults as a Frigate user expects them: on, box drawn, the whole picture (not the crop),
// JPEG quality 70; the snapshots of ended objects stay at the HTTP route for an hour.
const snapshots = z.strictObject({
  enabled: z.boolean().default(true).describe('keep the best picture of each tracked object and publish it (retained) on <prefix>/<device>/<camera>/<label>/snapshot'),
  drawBox: z.boolean().default(true).describe('draw the object\'s box on the published snapshot (the HTTP route takes ?bbox=0|1)'),
  crop: z.boolean().default(false).describe('publish the object\'s box (with a margin) instead of the whole picture (the HTTP route takes ?crop=0|1)'),
  quality: z.number().int().min(1).max(100).default(70).describe('JPEG quality, 1-100'),
  retain: z
    .strictObject({
      minutes: z.number().positive().max(7 * 24 * 60).default(60).describe('how long the snapshot of an ended object stays at the HTTP route'),
      count: positiveInt.max(1000).default(20).describe('at most this many ended objects\' snapshots are kept per camera (in memory), the oldest go first'),
    })
    .prefault({}),
  upload: z.boolean().default(false).describe('send the best snapshot (clean, whole picture) to the hub with the object\'s `end`, as a sample with reason `snapshot` (needs sampling enabled with an upload transport)'),
});

// Frigate's defaults (threshold 30, contour_area 10, frame_height 100, lightning_threshold 0.8).
// On by default as in Frigate, and it cannot lose an event: everything that arrives moves, a
// track that is not stationary gets every frame, and the recheck runs inference on a still
// picture every few seconds (a stationary track's lost time is far longer, so none ends for it).
const motion = z.strictObject({
  enabled: z.boolean().default(true).describe('run inference only when something moved, while tracks need it, and every recheckSeconds (false: on every frame)'),
  threshold: z.number().int().min(1).max(255).default(30).describe('least grey-level change (of 255) from the background that counts as motion'),
  contourArea: positiveInt.default(10).describe('least size of a moving area, in cells of the downscaled grey frame (frameHeight cells high)'),
  frameHeight: z.number().int().min(10).max(1080).default(100).describe('height of the downscaled grey frame motion is computed on'),
  lightningThreshold: z
    .number()
    .gt(0)
    .max(1)
    .default(0.8)
    .describe('fraction of the picture changed at once that is taken as a light change: the background is taken anew instead of reporting motion'),
  recheckSeconds: z
    .number()
    .positive()
    // The health check takes inference that answered nothing for 15 s while frames arrive as hung.
    .max(10, 'must be <= 10 (seconds): /healthz counts inference silent for 15 s while frames arrive as hung')
    .default(DEFAULT_RECHECK_SECONDS)
    .describe('inference runs at least this often without motion (stationary objects); must be shorter than tracker.stationaryLostSeconds'),
});

// Frigate's event clips: seconds before and after the object, copied from the camera's own stream
// (no re-encoding, so they cost almost no CPU). Off by default: they take disk in the state folder.
const clips = z.strictObject({
  enabled: z
    .boolean()
    .default(false)
    .describe('record the camera\'s stream into a short ring of segments and cut an MP4 per tracked object (rtsp and file sources; not with privacy masks)'),
  preSeconds: z.number().min(0).max(60).default(5).describe('seconds of video before the object was first seen'),
  postSeconds: z.number().min(0).max(60).default(5).describe('seconds of video after the object was last seen'),
  segmentSeconds: z
    .number()
    .min(1, 'must be at least 1 (seconds per ring segment; ffmpeg cuts only at keyframes)')
    .max(10)
    .default(2)
    .describe('length of the ring\'s segments; a clip\'s start is exact to about one segment (or the camera\'s keyframe interval, if longer)'),
  maxSeconds: z
    .number()
    .positive()
    .max(3600)
    .default(300)
    .describe('longest clip: an object seen for longer gets its last maxSeconds (the ring keeps no more than this)'),
  retainHours: z.number().positive().max(24 * 365).default(24).describe('finished clips older than this are deleted'),
  maxBytes: byteSize.default(1024 * 2 ** 20).describe('finished clips of this camera take at most this much disk; the oldest go first (default 1GiB)'),
});

const watchdog = z.strictObject({
  stallSeconds: z.number().min(1, 'must be at least 1 (seconds without a frame before the source restarts)').default(10).describe('restart the source when no frame arrived for this long'),
  // Capped low: a camera that comes back must stream again within seconds, not after a long backoff.
  backoff: backoff({ minMs: 500, maxMs: 2000 }).prefault({}),
});

export function cameraSchema(ctx: ConfigContext) {
  return z
    .strictObject({
      name,
      enabled: z.boolean().default(true),
      source: z.discriminatedUnion('type', [rtspSource, fileSource(ctx), v4l2Source, demoSource]),
      fps: z.number().positive().max(120).default(5).describe('frames per second taken from the source for detection'),
      filters: filters.prefault({}),
      privacy: privacy.prefault({}),
      tracker: tracker.prefault({}),
      snapshots: snapshots.prefault({}),
      clips: clips.prefault({}),
      motion: motion.prefault({}),
      watchdog: watchdog.prefault({}),
      eventUpdateIntervalSeconds: z.number().min(0.1, 'must be at least 0.1 (seconds between update events of one object)').default(2).describe('at most one `update` event per tracked object per interval'),
    })
    .superRefine((value: unknown, ctx) => {
      if (!isRecord(value)) return;
      checkRecheck(value, ctx);
      checkClips(value, ctx);
      // The three score thresholds must nest: low (continue) <= filters.minScore (report) <= start.
      if (!isRecord(value.tracker)) return;
      const minScore = isRecord(value.filters) && typeof value.filters.minScore === 'number' ? value.filters.minScore : DEFAULT_MIN_SCORE;
      const { lowScore, startScore } = value.tracker;
      if (typeof lowScore === 'number' && lowScore > minScore) {
        ctx.addIssue({ code: 'custom', path: ['tracker', 'lowScore'], message: `must be <= filters.minScore (${minScore})` });
      }
      if (typeof startScore === 'number' && startScore < minScore) {
        ctx.addIssue({ code: 'custom', path: ['tracker', 'startScore'], message: `must be >= filters.minScore (${minScore})` });
      }
    }, ALWAYS)
    .transform((camera) => ({
      ...camera,
      tracker: {
        ...camera.tracker,
        lowScore: camera.tracker.lowScore ?? Math.min(DEFAULT_LOW_SCORE, camera.filters.minScore),
        startScore: camera.tracker.startScore ?? Math.max(DEFAULT_START_SCORE, camera.filters.minScore),
      },
    }));
}

/**
 * With motion gating a stationary object is looked at only every `motion.recheckSeconds`: its
 * track must outlive that unseen, or it would end (and come back as a new one) while nothing moved.
 * The refinement sees the defaults filled in, so the error goes to the recheck either way.
 */
function checkRecheck(value: Record<string, unknown>, ctx: z.RefinementCtx): void {
  const motion = isRecord(value.motion) ? value.motion : {};
  const tracker = isRecord(value.tracker) ? value.tracker : {};
  if (motion.enabled === false) return;
  const recheck = typeof motion.recheckSeconds === 'number' ? motion.recheckSeconds : DEFAULT_RECHECK_SECONDS;
  const lost = typeof tracker.stationaryLostSeconds === 'number' ? tracker.stationaryLostSeconds : DEFAULT_STATIONARY_LOST_SECONDS;
  if (recheck >= lost) {
    ctx.addIssue({
      code: 'custom',
      path: ['motion', 'recheckSeconds'],
      message: `must be < tracker.stationaryLostSeconds (${lost}) while motion gating is on, or a stationary object's track ends between two looks (lower it, or raise tracker.stationaryLostSeconds)`,
    });
  }
}

/**
 * Clips copy the camera's encoded stream as it is: a source without one (the demo picture, a USB
 * camera's raw frames) has nothing to copy, and copied video cannot carry privacy masks (the
 * masks are blanked in decoded frames), so a camera with masks gets no clips rather than clips
 * that show what the masks promise to hide.
 */
function checkClips(value: Record<string, unknown>, ctx: z.RefinementCtx): void {
  if (!isRecord(value.clips) || value.clips.enabled !== true) return;
  const type = isRecord(value.source) ? value.source.type : undefined;
  if (type === 'demo' || type === 'v4l2') {
    ctx.addIssue({
      code: 'custom',
      path: ['clips', 'enabled'],
      message: `clips need an rtsp or file source (they copy the camera's encoded stream without re-encoding); a ${type} source has none`,
    });
  }
  // Clips are cut by wall-clock time: a file read faster than its own pace has events at times no recording has.
  if (type === 'file' && isRecord(value.source) && value.source.realtime === false) {
    ctx.addIssue({ code: 'custom', path: ['clips', 'enabled'], message: 'clips need the file read at its own pace (source.realtime: true): they are cut by the events\' wall-clock times' });
  }
  const masks = isRecord(value.privacy) && Array.isArray(value.privacy.masks) ? value.privacy.masks : [];
  if (masks.length > 0) {
    ctx.addIssue({
      code: 'custom',
      path: ['clips', 'enabled'],
      message: 'clips cannot be used with privacy masks: video copied from the stream without re-encoding would show the masked areas',
    });
  }
}

/**
 * Cameras are a list of named entries, not a map keyed by name: order is kept (and is the
 * order of fair inference turns and of the state topic), every error path reads
 * `cameras[1].source.url` whatever the name, and renaming a camera is editing one field.
 * Names must still be unique; that is checked here.
 */
export function camerasSchema(ctx: ConfigContext) {
  return z
    .array(cameraSchema(ctx))
    .min(1, 'add at least one camera, or leave `cameras` out to run the demo camera')
    .superRefine((cameras, refinement) => reportDuplicates(cameras, 'name', 'camera name', refinement), ALWAYS);
}

export const DEMO_CAMERAS = [{ name: 'demo', source: { type: 'demo' } }] as const;
