// Child process of `kestrel bench pipeline`: a bare ONNX Runtime loop on one fixed input, timed
// alone in its own process (two sessions in one process distort each other on small machines).
import { performance } from 'node:perf_hooks';
import { Detector } from '@kestrel/core';
import { nearestRank } from '../stats/latency-window.js';

const [modelPath, threadsArg, secondsArg] = process.argv.slice(2);
const detector = await Detector.load(modelPath, { threads: Number(threadsArg), providers: ['cpu'] });
const tensor = new Float32Array(3 * detector.meta.input.width * detector.meta.input.height).fill(0.5);
for (let i = 0; i < 5; i++) await detector.runTensor(tensor);
const times: number[] = [];
const end = performance.now() + Number(secondsArg) * 1000;
const start = performance.now();
while (performance.now() < end) {
  const t0 = performance.now();
  await detector.runTensor(tensor);
  times.push(performance.now() - t0);
}
const elapsed = (performance.now() - start) / 1000;
times.sort((a, b) => a - b);
await detector.close();
process.send?.({ fps: times.length / elapsed, p50: nearestRank(times, 0.5), p99: nearestRank(times, 0.99), runs: times.length });
