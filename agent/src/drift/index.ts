export { DriftMonitor, type DriftMonitorDeps } from './monitor.js';
export { CameraDriftState, type BaselineSource } from './camera-drift.js';
export { LearnedBaselines } from './learned-baselines.js';
