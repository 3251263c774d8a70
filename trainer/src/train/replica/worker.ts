// A data-parallel training replica: a worker thread with its own TensorFlow.js backend (the wasm
// backend computes on one core per instance, so two instances use two cores), its own copy of
// the network and its own decoded-image cache. It keeps no optimizer state: the trainer sends
// the weights with every step and applies the averaged gradients itself, so replicas cannot drift.
import { parentPort } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../backend/select.js';
import { SampleCache, TrainBatches } from '../../data/loader.js';
import { buildDetector } from '../../model/build.js';
import { TrainStep } from '../step.js';
import type { ReplicaRequest, ReplicaResponse } from './protocol.js';

const port = parentPort;
if (!port) throw new Error('the training replica must run in a worker thread');

let replica: { step: TrainStep; batches: TrainBatches } | undefined;

function send(msg: ReplicaResponse, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(msg, transfer);
}

async function handle(msg: ReplicaRequest): Promise<void> {
  if (msg.type === 'setup') {
    const { setup } = msg;
    await selectBackend({ prefer: [setup.backend] });
    const model = buildDetector(setup.detector);
    // The optimizer is never used here (the trainer owns the update); TrainStep needs one.
    replica = {
      step: new TrainStep(model, tf.train.adam(0), setup.classWeights, setup.temperature),
      batches: new TrainBatches(setup.items, new SampleCache(setup.cacheSide), setup.batches),
    };
    send({ type: 'ready' });
    return;
  }
  if (!replica) throw new Error('step before setup');
  const { step, batches } = replica;
  const vars = step.variables();
  if (msg.weights.length !== vars.length) throw new Error(`expected ${vars.length} weight arrays, got ${msg.weights.length}`);
  tf.tidy(() => vars.forEach((v, i) => v.assign(tf.tensor(msg.weights[i], v.shape))));
  const batch = await batches.batch(msg.epoch, msg.step, msg.augment, msg.share);
  const { grads, losses, images } = step.gradients(batch);
  // Copies, never views: a buffer handed over by transfer must not be the backend's own memory.
  const arrays = grads.map((g) => (g.dataSync() as Float32Array).slice());
  tf.dispose(grads);
  send({ type: 'gradients', id: msg.id, grads: arrays, losses, images }, arrays.map((a) => a.buffer as ArrayBuffer));
}

port.on('message', (msg: ReplicaRequest) => {
  handle(msg).catch((err: Error) => send({ type: 'error', id: msg.type === 'step' ? msg.id : undefined, message: err.message }));
});
