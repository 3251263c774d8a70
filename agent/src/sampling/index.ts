// Active learning on the device: strategies pick frames, quotas and a perceptual hash keep the
// pick small and varied, a crash-safe buffer holds them within a disk budget, and the uploader
// delivers them to the hub (HTTP) or the broker (MQTT).
export { Sampler, type SamplerDeps, type SamplerStats } from './sampler.js';
export { SampleBuffer, type SampleBufferOptions, type BufferStats, type RepairReport } from './sample-buffer.js';
export { Uploader, type UploaderOptions, type UploaderStats } from './uploader.js';
export { HttpTransport, SAMPLES_PATH, type HttpTransportOptions } from './transport/http.js';
export { MqttTransport, type PublishAcked } from './transport/mqtt.js';
export { toSamplePayload } from './transport/payload.js';
export { TransportError, type SampleTransport, type OutgoingSample, type SendOutcome, type TransportFailure } from './transport/types.js';
export { TokenBucket, Quota } from './quota.js';
export { dhashRgb, hammingDistance, type PixelRegion } from './dhash.js';
export { RecentHashes, type DedupOptions } from './dedup.js';
export { pictureRegion, encodeRegionJpeg } from './frame-image.js';
export { cameraStrategyConfigs, buildCameraStrategies, cameraSamplingEnabled, type CameraStrategy } from './camera-policy.js';
export * from './strategies/index.js';
export type * from './types.js';
