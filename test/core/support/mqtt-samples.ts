// One valid payload of every MQTT topic kind, for the codec and outgoing-message tests.
import type {
  DriftAlert,
  DetectionEvent,
  DeviceState,
  FrameDetections,
  KeySet,
  ModelSetManifest,
  ModelState,
  PayloadOf,
  Sample,
  ShadowReport,
  ShadowSet,
  Stats,
  TopicKind,
} from '@kestrel/core/mqtt/index';

const SHA = 'a'.repeat(64);
const T0 = 1_760_000_000_000;

export const event: DetectionEvent = {
  schema: 1,
  id: 'pi-1:door:t7:0',
  type: 'new',
  deviceId: 'pi-1',
  camera: 'door',
  trackId: 't7',
  label: 'person',
  score: 0.82,
  box: [10, 20, 110, 320],
  zones: ['porch'],
  firstSeen: T0,
  lastSeen: T0 + 400,
  frameTime: T0 + 400,
  modelVersion: '1.0.0',
  frameSize: [1920, 1080],
};

export const state: DeviceState = {
  schema: 1,
  agentVersion: '0.1.0',
  deviceId: 'pi-1',
  startedAt: T0,
  updatedAt: T0 + 5000,
  model: { name: 'nanodet', version: '1.0.0', sha256: SHA, decoder: 'nanodet', labelCount: 80, inputSize: [416, 416], provider: 'cpu' },
  cameras: {
    door: { state: 'streaming', fps: 4.9, since: T0 + 1000, restarts: 0 },
    yard: { state: 'failed', fps: 0, lastError: 'connection refused', restarts: 3 },
  },
  degraded: ['camera yard: connection refused'],
};

export const detections: FrameDetections = {
  schema: 1,
  deviceId: 'pi-1',
  camera: 'door',
  frameTime: T0,
  frameSize: [1920, 1080],
  modelVersion: '1.0.0',
  inferenceMs: 14.2,
  detections: [{ label: 'person', score: 0.9, box: [0, 0, 10, 10], trackId: 't7' }, { label: 'cat', score: 0.4, box: [5, 5, 6, 6] }],
  motion: [[0, 0, 40, 30]],
};

export const stats: Stats = {
  schema: 1,
  deviceId: 'pi-1',
  at: T0,
  intervalSeconds: 10,
  uptimeSeconds: 3600,
  inference: { ms: { p50: 14, p99: 22 }, queue: 0, provider: 'cpu' },
  cameras: {
    door: { fpsIn: 5, fpsProcessed: 4.8, fpsDropped: 0.2, framesIn: 18000, framesProcessed: 17300, framesDropped: 700, latencyMs: { p50: 30, p99: 61 }, queue: 1, framesSkipped: 1200, motionBoxes: 2 },
    yard: { fpsIn: 0, fpsProcessed: 0, fpsDropped: 0, framesIn: 0, framesProcessed: 0, framesDropped: 0, latencyMs: null, queue: 0 },
  },
  outbox: { depth: 3, dropped: 0 },
};

export const modelState: ModelState = {
  schema: 1,
  current: { name: 'nanodet', version: '1.1.0', sha256: SHA },
  previous: { name: 'nanodet', version: '1.0.0', sha256: 'b'.repeat(64) },
  status: 'applied',
  sequence: 12,
  updatedAt: T0,
};

export const manifest: ModelSetManifest = {
  schema: 1,
  name: 'nanodet',
  version: '1.1.0',
  sha256: SHA,
  size: 3_800_000,
  url: 'https://hub.example.net/models/nanodet-1.1.0.onnx',
  release: 4,
  metadata: { decoder: 'nanodet', labelCount: 80, inputSize: [416, 416] },
  sequence: 13,
  issuedAt: T0,
  expires: T0 + 86_400_000,
  keyId: '0123456789abcdef',
  signature: Buffer.from('signature bytes').toString('base64'),
};

export const keySet: KeySet = {
  schema: 1,
  version: 2,
  threshold: 2,
  keys: [{ publicKey: Buffer.alloc(32, 1).toString('base64') }, { publicKey: Buffer.alloc(32, 2).toString('base64'), notAfter: T0 + 86_400_000 }],
  issuedAt: T0,
  expires: T0 + 30 * 86_400_000,
  signatures: [{ keyId: '0123456789abcdef', signature: Buffer.from('signature bytes').toString('base64') }],
};

export const sample: Sample = {
  schema: 1,
  id: 's1',
  deviceId: 'pi-1',
  camera: 'door',
  capturedAt: T0,
  reasons: ['uncertain'],
  modelVersion: '1.0.0',
  frameSize: [640, 480],
  detections: [{ label: 'person', score: 0.45, box: [1, 2, 3, 4] }],
  image: { contentType: 'image/jpeg', data: Buffer.from([0xff, 0xd8, 0xff, 0xd9]).toString('base64') },
};

export const driftAlert: DriftAlert = {
  schema: 1,
  deviceId: 'pi-1',
  camera: 'door',
  modelVersion: '1.0.0',
  at: T0,
  since: T0,
  drifted: true,
  psi: 0.61,
  js: 0.33,
  threshold: 0.25,
  worst: { histogram: 'score', label: 'person', psi: 0.61, js: 0.33, n: 240 },
  figures: [{ histogram: 'score', label: 'person', psi: 0.61, js: 0.33, n: 240 }, { histogram: 'count', psi: 0.02, js: 0.05, n: 300 }],
  perFrame: 0.8,
  baselinePerFrame: 1.1,
  baseline: 'model',
};

export const shadowSet: ShadowSet = { schema: 1, action: 'run', id: 'sh-1', manifest, share: 0.1, until: T0 + 86_400_000 };

export const shadowReport: ShadowReport = {
  schema: 1,
  deviceId: 'pi-1',
  id: 'sh-1',
  status: 'running',
  candidate: { name: 'nanodet', version: '1.1.0', sha256: SHA },
  current: { name: 'nanodet', version: '1.0.0', sha256: 'b'.repeat(64) },
  share: 0.1,
  since: T0,
  at: T0 + 60_000,
  dropped: 2,
  cameras: {
    door: {
      frames: 30,
      matched: 40,
      agreement: 0.8,
      current: { detections: 45, scoreSum: 30.1, latencyMs: { p50: 14, p99: 22 }, latencyMeanMs: 15 },
      candidate: { detections: 45, scoreSum: 29.5, latencyMs: { p50: 9, p99: 15 }, latencyMeanMs: 10 },
    },
  },
};

export const SAMPLES: { [K in TopicKind]: PayloadOf<K> } = {
  status: 'online',
  state,
  stats,
  modelSet: manifest,
  keysSet: keySet,
  modelState,
  shadowSet,
  shadowReport,
  samples: sample,
  events: event,
  detections,
  clip: {
    schema: 1,
    id: 't7:clip',
    deviceId: 'pi-1',
    camera: 'door',
    trackId: 't7',
    label: 'person',
    start: T0 - 5000,
    end: T0 + 5400,
    durationS: 10.4,
    bytes: 812_345,
    path: '/api/cameras/door/clip/t7.mp4',
  },
  drift: driftAlert,
  labelCount: 2,
  snapshot: Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0xff, 0xd9]),
  detectSet: 'OFF',
  detectState: 'ON',
  haStatus: 'online',
  haDiscovery: {
    name: 'door person detected',
    unique_id: 'kestrel_pi-1_door_person_detected',
    device: { identifiers: ['kestrel_pi-1'], name: 'pi-1', manufacturer: 'Kestrel', model: 'Kestrel agent', sw_version: '0.1.0' },
    availability: [{ topic: 'kestrel/pi-1/status', payload_available: 'online', payload_not_available: 'offline' }],
    state_topic: 'kestrel/pi-1/door/person/count',
    device_class: 'occupancy',
  },
};
