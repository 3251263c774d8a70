// A device-side model updater with its real parts (ONNX Runtime worker, MQTT, HTTP), minus the
// cameras: a loop feeds synthetic frames to the real engine and counts what it returns, as the
// agent's inference loop does.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFile } from 'node:fs/promises';
import mqtt from 'mqtt';
import { letterboxGeometry, onnx, encodeModel, silentLogger, writeMetadata, type TrustedKeyInput } from '@kestrel/core';
import { InferenceEngine } from '@kestrel/agent/inference/engine';
import { InferenceCounters, ModelUpdater, MqttUpdateChannel, type HealthPolicy } from '@kestrel/agent/update/index';
import type { Frame } from '@kestrel/agent/source/types';

const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;

/**
 * A YOLOv8-shaped detector of `size`×`size` input that finds one fixed box with `score` in every
 * frame (score 0: finds nothing). A zero-weight Conv over the whole image gives its bias.
 */
export function fixedDetector(size: number, score: number, version = `s${score}`): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'kestrel-test',
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'fixed',
      node: [
        { opType: 'Conv', input: ['input', 'w', 'b'], output: ['c'], name: 'conv', attribute: [{ name: 'strides', type: onnx.AttributeProto.AttributeType.INTS, ints: [size, size] }] },
        { opType: 'Reshape', input: ['c', 'shape'], output: ['output0'], name: 'reshape' },
      ],
      initializer: [
        { name: 'w', dataType: FLOAT, dims: [5, 3, size, size], floatData: new Array(5 * 3 * size * size).fill(0) },
        { name: 'b', dataType: FLOAT, dims: [5], floatData: [size / 2, size / 2, size / 4, size / 4, score] },
        { name: 'shape', dataType: INT64, dims: [3], int64Data: [1, 5, 1] },
      ],
      input: [{ name: 'input', type: { tensorType: { elemType: FLOAT, shape: { dim: [1, 3, size, size].map((d) => ({ dimValue: d })) } } } }],
      output: [{ name: 'output0', type: { tensorType: { elemType: FLOAT, shape: { dim: [1, 5, 1].map((d) => ({ dimValue: d })) } } } }],
    },
  });
  writeMetadata(model, {
    decoder: 'yolov8',
    labels: ['thing'],
    input: { width: size, height: size, layout: 'NCHW', colour: 'RGB', mean: [0, 0, 0], std: [255, 255, 255], letterbox: true, padValue: 114 },
    name: 'fixed',
    version,
  });
  return encodeModel(model);
}

/**
 * A YOLOv8-shaped detector whose outputs are sqrt(-(sum of the image)): 0 on the blank frame a
 * model is loaded with, NaN on every real frame (a model broken by, say, a bad quantization).
 */
export function nanDetector(size: number, version: string): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'kestrel-test',
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'nan',
      node: [
        { opType: 'Conv', input: ['input', 'w'], output: ['c'], name: 'conv', attribute: [{ name: 'strides', type: onnx.AttributeProto.AttributeType.INTS, ints: [size, size] }] },
        { opType: 'Neg', input: ['c'], output: ['n'], name: 'neg' },
        { opType: 'Sqrt', input: ['n'], output: ['s'], name: 'sqrt' },
        { opType: 'Reshape', input: ['s', 'shape'], output: ['output0'], name: 'reshape' },
      ],
      initializer: [
        { name: 'w', dataType: FLOAT, dims: [5, 3, size, size], floatData: new Array(5 * 3 * size * size).fill(1) },
        { name: 'shape', dataType: INT64, dims: [3], int64Data: [1, 5, 1] },
      ],
      input: [{ name: 'input', type: { tensorType: { elemType: FLOAT, shape: { dim: [1, 3, size, size].map((d) => ({ dimValue: d })) } } } }],
      output: [{ name: 'output0', type: { tensorType: { elemType: FLOAT, shape: { dim: [1, 5, 1].map((d) => ({ dimValue: d })) } } } }],
    },
  });
  writeMetadata(model, {
    decoder: 'yolov8',
    labels: ['thing'],
    input: { width: size, height: size, layout: 'NCHW', colour: 'RGB', mean: [0, 0, 0], std: [255, 255, 255], letterbox: true, padValue: 114 },
    name: 'fixed',
    version,
  });
  return encodeModel(model);
}

export function syntheticFrame(size: number, camera = 'cam1', seq = 0): Frame {
  const data = new Uint8Array(size * size * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7 + seq * 13) & 0xff;
  return { camera, seq, data, width: size, height: size, geometry: letterboxGeometry(size, size, size, size), capturedAt: Date.now() };
}

export interface SimDeviceOptions {
  deviceId: string;
  prefix: string;
  brokerUrl: string;
  trustedKeys: TrustedKeyInput[];
  initialModel: Uint8Array;
  size: number;
  health?: Partial<HealthPolicy>;
  stateDir?: string;
  download?: { deadlineMs?: number; idleTimeoutMs?: number };
}

/** One device: real engine + updater + MQTT, frames every `frameMs`. */
export class SimDevice {
  readonly stateDir: string;
  engine!: InferenceEngine;
  updater!: ModelUpdater;
  channel!: MqttUpdateChannel;
  readonly counters = new InferenceCounters();
  private statusClient?: mqtt.MqttClient;
  private loop?: NodeJS.Timeout;
  private seq = 0;
  private busy = false;
  lastDetections = -1;

  constructor(readonly options: SimDeviceOptions) {
    this.stateDir = options.stateDir ?? mkdtempSync(join(tmpdir(), `kestrel-update-${options.deviceId}-`));
  }

  async start(frameMs = 50): Promise<void> {
    const o = this.options;
    const configured = join(this.stateDir, 'configured.onnx');
    await writeFile(configured, o.initialModel);
    const modelPath = ModelUpdater.startupModel(this.stateDir, configured);
    this.engine = new InferenceEngine({ modelPath, load: { threads: 1 }, logger: silentLogger });
    await this.engine.start();
    // The agent's own link announces online/offline; here a small client does it.
    const statusTopic = `${o.prefix}/${o.deviceId}/status`;
    this.statusClient = mqtt.connect(o.brokerUrl, { clientId: `${o.prefix}-${o.deviceId}-status`, will: { topic: statusTopic, payload: Buffer.from('offline'), qos: 1, retain: true } });
    await new Promise<void>((resolve) => this.statusClient!.once('connect', () => resolve()));
    await this.statusClient.publishAsync(statusTopic, 'online', { qos: 1, retain: true });
    this.channel = new MqttUpdateChannel({ url: o.brokerUrl, clientId: `${o.prefix}-${o.deviceId}-update`, logger: silentLogger });
    this.channel.start();
    this.updater = new ModelUpdater({
      deviceId: o.deviceId,
      prefix: o.prefix,
      stateDir: this.stateDir,
      configuredModelPath: configured,
      trustedKeys: o.trustedKeys,
      agentVersion: '0.1.0',
      engine: this.engine,
      channel: this.channel,
      recentFrames: () => [syntheticFrame(o.size, 'cam1', this.seq)],
      counters: () => this.counters.totals(),
      load: { threads: 1 },
      smoke: { frameBudgetMs: 5000, loadTimeoutMs: 30_000 },
      health: { watchMs: 1500, minFrames: 5, minBaselineDetections: 5, ...o.health },
      download: o.download,
      checkIntervalMs: 100,
      logger: silentLogger,
    });
    this.loop = setInterval(() => void this.tick(), frameMs);
    // A baseline for the detection-rate rule before anything arrives.
    await new Promise((r) => setTimeout(r, 300));
    await this.updater.start();
  }

  private async tick(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    const frame = syntheticFrame(this.options.size, 'cam1', this.seq++);
    try {
      const result = await this.engine.infer(frame.data, frame.geometry, {});
      this.counters.ok(frame.camera, result.detections.length, result.inferenceMs);
      this.lastDetections = result.detections.length;
    } catch {
      this.counters.failed(frame.camera);
    } finally {
      this.busy = false;
    }
  }

  /** Stops like a process would (the will says offline). */
  async stop(): Promise<void> {
    clearInterval(this.loop);
    await this.updater?.stop();
    await this.channel?.stop();
    await this.statusClient?.publishAsync(`${this.options.prefix}/${this.options.deviceId}/status`, 'offline', { qos: 1, retain: true }).catch(() => undefined);
    await this.statusClient?.endAsync().catch(() => undefined);
    await this.engine?.stop();
  }
}
