import type { Worker } from 'node:worker_threads';
import { siblingModuleUrl, startModuleWorker } from '@kestrel/core/util/worker';
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { KestrelError, rgbToTensor, type DetectOptions, type LetterboxGeometry, type Logger } from '@kestrel/core';
import type { InferenceResult, LoadOptions, ModelInfo, WorkerRequest, WorkerResponse } from './protocol.js';

export interface InferenceEngineOptions {
  modelPath: string;
  load: LoadOptions;
  logger: Logger;
  /** A request that takes longer than this means the worker hung: it is killed and restarted. */
  hangTimeoutMs?: number;
  /**
   * Requests allowed in the worker at once. 2 by default: the running frame and the next, which the
   * agent sends just before the running one ends (PrefetchPacer), so the worker never idles.
   */
  maxInFlight?: number;
}

interface InferAnswer {
  result: Omit<InferenceResult, 'preprocessMs'>;
  tensor: Float32Array;
}

interface Pending {
  resolve: (value: never) => void;
  reject: (err: Error) => void;
  startedAt: number;
  type: WorkerRequest['type'];
}

export interface EngineEvents {
  restarted: [reason: string];
  loaded: [info: ModelInfo];
}

/**
 * The main thread's handle on the inference worker: sends frames, matches answers, and restarts
 * the worker when it crashes or hangs (pending requests fail; the cameras go on with the next
 * frame). Start and stop belong to the agent controller.
 */
export class InferenceEngine extends EventEmitter<EngineEvents> {
  private worker?: Worker;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private hangTimer?: NodeJS.Timeout;
  private stopping = false;
  private modelPath: string;
  private loadOptions: LoadOptions;
  private restarting?: Promise<void>;
  /**
   * Input tensors coming back from the worker, for the next frames: a 416×416 model's input is
   * 2 MB, allocated once per in-flight slot instead of once per frame. Bounded by maxInFlight + 1.
   */
  private readonly spareTensors: Float32Array[] = [];
  info?: ModelInfo;
  restarts = 0;

  constructor(private readonly options: InferenceEngineOptions) {
    super();
    this.modelPath = options.modelPath;
    this.loadOptions = options.load;
  }

  /** A worker runs with a model loaded (false while starting, restarting or stopped). */
  get ready(): boolean {
    return this.worker !== undefined && this.restarting === undefined && this.info !== undefined && !this.stopping;
  }

  get inFlight(): number {
    return this.pending.size;
  }

  get maxInFlight(): number {
    return this.options.maxInFlight ?? 2;
  }

  /** Spawns the worker and loads the model; throws the model's error if it cannot load. */
  async start(): Promise<ModelInfo> {
    this.stopping = false;
    this.spawn();
    const info = await this.request<ModelInfo>({ type: 'load', id: 0, modelPath: this.modelPath, options: this.loadOptions });
    this.info = info;
    this.emit('loaded', info);
    const hangMs = this.options.hangTimeoutMs ?? 30_000;
    this.hangTimer = setInterval(() => this.checkHang(hangMs), Math.min(1000, hangMs / 4));
    this.hangTimer.unref();
    return info;
  }

  /** Loads another model into the running worker; the old one serves until the new one is ready. */
  async load(modelPath: string, load: LoadOptions = this.loadOptions): Promise<ModelInfo> {
    const info = await this.request<ModelInfo>({ type: 'load', id: 0, modelPath, options: load });
    this.modelPath = modelPath;
    this.loadOptions = load;
    this.info = info;
    this.emit('loaded', info);
    return info;
  }

  /**
   * One frame (packed RGB at the model's input size) → detections. The frame becomes the model's
   * input tensor here, on the calling thread, and is transferred to the worker without a copy:
   * the worker's thread runs inference and nothing else it can avoid, and on a device with a core
   * to spare the preprocessing of one frame overlaps the inference of the one before.
   */
  infer(rgb: Uint8Array, geometry: LetterboxGeometry, options: DetectOptions): Promise<InferenceResult> {
    if (this.restarting) return Promise.reject(new KestrelError('E_INFERENCE_RESTARTING', 'inference worker is restarting'));
    const input = this.info?.meta.input;
    if (!input) return Promise.reject(new KestrelError('E_INFERENCE_STOPPED', 'no model loaded'));
    const t0 = performance.now();
    let tensor: Float32Array;
    try {
      tensor = rgbToTensor(rgb, input, this.spareTensors.pop());
    } catch (err) {
      return Promise.reject(new KestrelError('E_INFERENCE_INPUT', (err as Error).message));
    }
    const preprocessMs = performance.now() - t0;
    return this.request<InferAnswer>({ type: 'infer', id: 0, tensor, geometry, options }, [tensor.buffer as ArrayBuffer]).then((answer) => {
      if (this.spareTensors.length <= this.maxInFlight) this.spareTensors.push(answer.tensor);
      return { ...answer.result, preprocessMs };
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.hangTimer);
    const worker = this.worker;
    if (!worker) return;
    try {
      await Promise.race([this.request({ type: 'close', id: 0 }), new Promise((r) => setTimeout(r, 2000))]);
    } catch {
      // closing is best effort: terminate below either way
    }
    this.worker = undefined;
    await worker.terminate();
    this.rejectAll(new KestrelError('E_INFERENCE_STOPPED', 'inference stopped'));
  }

  private spawn(): void {
    const worker = startModuleWorker(siblingModuleUrl(import.meta.url, 'worker'), { name: 'kestrel-inference' });
    worker.on('message', (msg: WorkerResponse) => this.onMessage(msg));
    worker.on('error', (err) => this.options.logger.error({ err: err.message }, 'inference worker error'));
    worker.on('exit', (code) => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      if (!this.stopping) void this.restart(`worker exited with code ${code}`);
    });
    this.worker = worker;
  }

  private request<T>(req: WorkerRequest, transfer: ArrayBuffer[] = []): Promise<T> {
    const worker = this.worker;
    if (!worker) return Promise.reject(new KestrelError('E_INFERENCE_STOPPED', 'inference worker is not running'));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: never) => void, reject, startedAt: Date.now(), type: req.type });
      worker.postMessage({ ...req, id }, transfer);
    });
  }

  private onMessage(msg: WorkerResponse): void {
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    switch (msg.type) {
      case 'loaded':
        p.resolve(msg.info as never);
        break;
      case 'result':
        p.resolve({ result: msg.result, tensor: msg.tensor } satisfies InferAnswer as never);
        break;
      case 'closed':
        p.resolve(undefined as never);
        break;
      case 'error':
        p.reject(new KestrelError(msg.code, msg.message));
        break;
    }
  }

  private checkHang(limitMs: number): void {
    const now = Date.now();
    for (const p of this.pending.values()) {
      // Loading may legitimately take long (TensorRT builds engines); only inference can hang.
      if (p.type === 'infer' && now - p.startedAt > limitMs) {
        void this.restart(`inference took longer than ${limitMs} ms`);
        return;
      }
    }
  }

  private restart(reason: string): Promise<void> {
    if (this.restarting || this.stopping) return this.restarting ?? Promise.resolve();
    this.restarts++;
    this.options.logger.warn({ reason, restarts: this.restarts }, 'restarting inference worker');
    this.emit('restarted', reason);
    this.restarting = (async () => {
      const old = this.worker;
      this.worker = undefined;
      this.rejectAll(new KestrelError('E_INFERENCE_RESTARTING', `inference worker restarted: ${reason}`));
      await old?.terminate().catch(() => undefined);
      let delay = 250;
      while (!this.stopping) {
        try {
          this.spawn();
          this.info = await this.request<ModelInfo>({ type: 'load', id: 0, modelPath: this.modelPath, options: this.loadOptions });
          this.emit('loaded', this.info);
          return;
        } catch (err) {
          this.options.logger.error({ err: (err as Error).message }, 'inference worker restart failed');
          await (this.worker as Worker | undefined)?.terminate().catch(() => undefined);
          this.worker = undefined;
          await new Promise((r) => setTimeout(r, delay));
          delay = Math.min(delay * 2, 10_000);
        }
      }
    })().finally(() => {
      this.restarting = undefined;
    });
    return this.restarting;
  }

  private rejectAll(err: Error): void {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }
}
