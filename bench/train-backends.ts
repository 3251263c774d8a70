// Benchmark: one training step of the default Kestrel detector on the wasm backend (with the
// project's gradient kernels) against the pure-JS cpu backend, in one run. Target: ≥ 30×.
// Usage: node --conditions=kestrel-source --import tsx bench/train-backends.ts [--batch 2] [--imgsz 320] [--width 1] [--steps 3] [--cpu-steps 1]
import * as tf from '@tensorflow/tfjs';
import { parseArgs } from 'node:util';
import { useBackend } from '@kestrel/trainer/backend/select';
import { buildDetector } from '@kestrel/trainer/model/build';
import { resolveDetectorConfig } from '@kestrel/trainer/model/config';
import { TrainStep } from '@kestrel/trainer/train/step';
import { renderFactoryScene, FACTORY_CLASSES } from '@kestrel/trainer/data/synth/factory';
import type { TrainBatch } from '@kestrel/trainer/data/loader';

const { values } = parseArgs({ options: { batch: { type: 'string', default: '2' }, imgsz: { type: 'string', default: '320' }, width: { type: 'string', default: '1' }, steps: { type: 'string', default: '3' }, 'cpu-steps': { type: 'string', default: '1' } } });
const batchSize = Number(values.batch), size = Number(values.imgsz), width = Number(values.width);

const scenes = Array.from({ length: batchSize }, (_, i) => renderFactoryScene(0, i, size));
const batch: TrainBatch = { images: Float32Array.from(scenes.flatMap((s) => Array.from(s.data, (v) => v / 255))), size, count: batchSize, boxes: scenes.map((s) => s.boxes) };

async function timeSteps(backend: 'wasm' | 'cpu', steps: number, warmUp: boolean): Promise<number> {
  await useBackend(backend);
  const config = resolveDetectorConfig({ labels: [...FACTORY_CLASSES], inputHeight: size, inputWidth: size, width });
  const model = buildDetector(config, 1);
  const step = new TrainStep(model, tf.train.adam(1e-3), config.labels.map(() => 1));
  // Warm-up (kernel setup, XNNPACK operators, JIT). The cpu backend takes minutes a step and
  // has nothing to warm but V8's JIT, so it is timed cold (which flatters wasm slightly less).
  if (warmUp) step.run(batch, 1e-3);
  const times: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    step.run(batch, 1e-3);
    times.push(performance.now() - t0);
  }
  step.dispose();
  model.net.dispose();
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

const wasmMs = await timeSteps('wasm', Number(values.steps), true);
console.log(`wasm: ${(wasmMs / 1000).toFixed(2)} s/step (batch ${batchSize}, ${size}x${size}, width ${width})`);
const cpuMs = await timeSteps('cpu', Number(values['cpu-steps']), false);
console.log(`cpu:  ${(cpuMs / 1000).toFixed(2)} s/step`);
console.log(JSON.stringify({ batch: batchSize, imgsz: size, width, wasmSecondsPerStep: wasmMs / 1000, cpuSecondsPerStep: cpuMs / 1000, speedup: Math.round((cpuMs / wasmMs) * 10) / 10 }));
