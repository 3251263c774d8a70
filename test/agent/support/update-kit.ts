// A device-side model updater with its real parts (ONNX Runtime worker, MQTT, HTTP), minus the
// cameras: a loop feeds synthetic frames to the real engine and counts what it returns, as the
// agent's inference loop does.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFile } from 'node:fs/promises';
import mqtt from 'mqtt';
import { letterboxGeometry, silentLogger, type TrustedKeyInput } from '@kestrel/core';
import { fixedDetector, oneAnchorDetector } from '@kestrel/deploy/loadtest/tiny-model';
import { InferenceEngine } from '@kestrel/agent/inference/engine';
import { InferenceCounters, ModelUpdater, MqttUpdateChannel, type HealthPolicy } from '@kestrel/agent/update/index';
import type { Frame } from '@kestrel/agent/source/types';

// The model makers live with the load test, which releases them too.
export { fixedDetector };

/**
 * A YOLOv8-shaped detector whose outputs are sqrt(-(sum of the image)): 0 on the blank frame a
 * model is loaded with, NaN on every real frame (a model broken by, say, a bad quantization).
 */
export function nanDetector(size: number, version: string): Uint8Array {
  return oneAnchorDetector(size, version, { weight: 1 }, ['Neg', 'Sqrt']);
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
      this.counters.ok(frame.camera, result.detections, result.inferenceMs);
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
