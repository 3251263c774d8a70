export { CameraSnapshots, type Snapshot, type SnapshotCandidate, type SnapshotConfig, type SnapshotOutlet, type SnapshotCounters } from './camera-snapshots.js';
export { renderSnapshot, type RenderOptions } from './render.js';
export { better, cutByEdge, MIN_SCORE_GAIN } from './best.js';
