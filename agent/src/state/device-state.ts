import { KESTREL_VERSION, type DeviceState, type CameraStatus, type LoadedModel } from '@kestrel/core';
import type { ModelInfo } from '../inference/protocol.js';

/** The retained `state` document, rebuilt from the parts that own each piece. */
export function buildDeviceState(input: {
  deviceId: string;
  startedAt: number;
  model: ModelInfo | undefined;
  cameras: Record<string, CameraStatus>;
  degraded: string[];
}): DeviceState {
  return {
    schema: 1,
    agentVersion: KESTREL_VERSION,
    deviceId: input.deviceId,
    startedAt: input.startedAt,
    updatedAt: Date.now(),
    model: input.model ? loadedModel(input.model) : null,
    cameras: input.cameras,
    degraded: input.degraded,
  };
}

export function loadedModel(info: ModelInfo): LoadedModel {
  return {
    name: info.meta.name ?? 'model',
    version: info.meta.version ?? '0',
    sha256: info.sha256,
    decoder: info.meta.decoder,
    labelCount: info.meta.labels.length,
    inputSize: [info.meta.input.width, info.meta.input.height],
    provider: info.provider,
  };
}
