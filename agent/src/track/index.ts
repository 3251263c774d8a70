// From detections to events: per-camera filters, zones, a ByteTrack-style tracker and the
// new/update/end event life cycle.
export * from './zones.js';
export * from './filter.js';
export * from './tracker.js';
export * from './events.js';
export * from './object-tracker.js';
