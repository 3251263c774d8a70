export { HealthServer, type HealthServerOptions } from './server.js';
export { buildHealthReport, type HealthReport, type HealthInput, type CameraHealthInput } from './report.js';
export { InferenceLiveness, type InferenceCheck } from './inference-liveness.js';
