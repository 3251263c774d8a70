// The inference worker: owns the ONNX Runtime session. ONNX Runtime's Node binding runs
// session.run on the calling thread, so it lives here and MQTT, ffmpeg pipes and health checks
// on the main thread never wait behind it.
import { parentPort } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { Detector, isKestrelError, rgbToTensor } from '@kestrel/core';
import type { WorkerRequest, WorkerResponse } from './protocol.js';

if (!parentPort) throw new Error('inference worker must run in a worker_thread');
const port = parentPort;

let detector: Detector | undefined;
// One input buffer, reused for every frame: the tensor is the size of the model input.
let tensor: Float32Array | undefined;

function reply(msg: WorkerResponse): void {
  port.postMessage(msg);
}

function fail(id: number, err: unknown): void {
  const code = isKestrelError(err) ? err.code : 'E_INFERENCE';
  reply({ type: 'error', id, code, message: (err as Error).message ?? String(err) });
}

// Requests run strictly one after another: the input tensor is shared, and two concurrent runs
// would only fight over the same intra-op threads.
let chain: Promise<void> = Promise.resolve();
port.on('message', (req: WorkerRequest) => {
  chain = chain.then(() => handle(req));
});

async function handle(req: WorkerRequest): Promise<void> {
  try {
    switch (req.type) {
      case 'load': {
        const next = await Detector.load(req.modelPath, req.options);
        const previous = detector;
        detector = next;
        tensor = undefined;
        await previous?.close();
        reply({ type: 'loaded', id: req.id, info: { path: next.modelPath, sha256: next.sha256, meta: next.meta, provider: next.provider, skippedProviders: next.skippedProviders } });
        break;
      }
      case 'infer': {
        if (!detector) throw new Error('no model loaded');
        const t0 = performance.now();
        tensor = rgbToTensor(req.rgb, detector.meta.input, tensor);
        const preprocessMs = performance.now() - t0;
        const { detections, inferenceMs, decodeMs } = await detector.detectTensor(tensor, req.geometry, req.options);
        reply({ type: 'result', id: req.id, result: { detections, preprocessMs, inferenceMs, decodeMs } });
        break;
      }
      case 'close': {
        await detector?.close();
        detector = undefined;
        reply({ type: 'closed', id: req.id });
        break;
      }
    }
  } catch (err) {
    fail(req.id, err);
  }
}
