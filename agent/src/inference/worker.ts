// The inference worker: owns the ONNX Runtime session. ONNX Runtime's Node binding runs
// session.run on the calling thread, so it lives here and MQTT, ffmpeg pipes and health checks
// on the main thread never wait behind it.
import { parentPort } from 'node:worker_threads';
import { Detector, isKestrelError } from '@kestrel/core';
import type { WorkerRequest, WorkerResponse } from './protocol.js';

if (!parentPort) throw new Error('inference worker must run in a worker_thread');
const port = parentPort;

let detector: Detector | undefined;

function reply(msg: WorkerResponse): void {
  // The input buffer goes back to the main thread's pool without a copy.
  port.postMessage(msg, msg.type === 'result' ? [msg.tensor.buffer as ArrayBuffer] : []);
}

function fail(id: number, err: unknown): void {
  const code = isKestrelError(err) ? err.code : 'E_INFERENCE';
  reply({ type: 'error', id, code, message: (err as Error).message ?? String(err) });
}

// Requests run strictly one after another: two concurrent runs would only fight over the same
// intra-op threads. Frames arrive already preprocessed: this thread's time is the scarce one, so it
// does session.run and the (small) decode, nothing else.
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
        await previous?.close();
        reply({ type: 'loaded', id: req.id, info: { path: next.modelPath, sha256: next.sha256, meta: next.meta, provider: next.provider, skippedProviders: next.skippedProviders } });
        break;
      }
      case 'infer': {
        if (!detector) throw new Error('no model loaded');
        const { detections, inferenceMs, decodeMs } = await detector.detectTensor(req.tensor, req.geometry, req.options);
        reply({ type: 'result', id: req.id, result: { detections, inferenceMs, decodeMs }, tensor: req.tensor });
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
