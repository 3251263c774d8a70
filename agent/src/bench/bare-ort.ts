// Child process of `kestrel bench pipeline`: a bare ONNX Runtime loop on one fixed input, timed
// alone in its own process (two sessions in one process distort each other on small machines).
// It warms up for a second first: a fresh process runs up to 3x slower for its first ~250 ms on
// these VMs (clock ramp), and a bare loop timed cold would flatter the agent beside it.
import { performance } from 'node:perf_hooks';
import { Detector } from '@kestrel/core';
import { nearestRank } from '../stats/latency-window.js';

const [modelPath, threadsArg, secondsArg] = process.argv.slice(2);
const detector = await Detector.load(modelPath, { threads: Number(threadsArg), providers: ['cpu'] });
const tensor = new Float32Array(3 * detector.meta.input.width * detector.meta.input.height).fill(0.5);
const warmUntil = performance.now() + 1000;
for (let i = 0; i < 5 || performance.now() < warmUntil; i++) await detector.runTensor(tensor);
const times: number[] = [];
const end = performance.now() + Number(secondsArg) * 1000;
const start = performance.now();
const cpuBefore = process.cpuUsage();
while (performance.now() < end) {
  const t0 = performance.now();
  await detector.runTensor(tensor);
  times.push(performance.now() - t0);
}
const elapsed = (performance.now() - start) / 1000;
const cpu = process.cpuUsage(cpuBefore);
times.sort((a, b) => a - b);
await detector.close();
process.send?.({ fps: times.length / elapsed, p50: nearestRank(times, 0.5), p99: nearestRank(times, 0.99), runs: times.length, cores: (cpu.user + cpu.system) / 1e6 / elapsed });
