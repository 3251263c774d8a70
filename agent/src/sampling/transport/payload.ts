import type { Sample } from '@kestrel/core';
import type { OutgoingSample } from './types.js';

/** The wire form of a sample (core's SampleSchema): the same for HTTP batches and MQTT messages. */
export function toSamplePayload(deviceId: string, { record, jpeg }: OutgoingSample): Sample {
  return {
    schema: 1,
    id: record.id,
    deviceId,
    camera: record.camera,
    capturedAt: record.capturedAt,
    reasons: record.reasons,
    modelVersion: record.modelVersion,
    frameSize: record.frameSize,
    imageSize: record.imageSize,
    hash: record.hash,
    detections: record.detections,
    ...(record.shadow ? { shadow: record.shadow } : {}),
    image: { contentType: 'image/jpeg', data: jpeg.toString('base64') },
  };
}
