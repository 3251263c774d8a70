// Event clips: a per-camera ring of copied segments, and an MP4 per tracked object (Frigate's clips).
export { CameraClips, clipRoute, MAX_PENDING, type ClipNotice, type ClipCounters, type ClipsConfig, type CameraClipsDeps } from './camera-clips.js';
export { ClipsPart, type ClipsPartDeps } from './clips-part.js';
export { RingRecorder, buildRecorderArgs, type RecorderStatus, type RecorderState } from './ring-recorder.js';
export { SegmentRing, covering, segmentPattern, type Segment } from './segment-ring.js';
export { makeClip, type MadeClip } from './clip-maker.js';
export { readMp4Info, type Mp4Info } from './mp4-info.js';
