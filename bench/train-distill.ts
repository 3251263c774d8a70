// Benchmark: distil the bundled NanoDet-416 teacher into a small Kestrel student for people and
// vehicles, then report the student's mAP@0.5 against the teacher's labels on held-out frames
// and both models' CPU time per frame (ONNX Runtime, same thread count, measured one at a time).
// Frames: crops, zooms and mirrors of the repository's test photographs (the only real photos
// on this machine), so the mAP figure checks the pipeline rather than a field deployment.
// Usage: node --conditions=kestrel-source --import tsx bench/train-distill.ts [--per-photo 40] [--minutes 6] [--imgsz 320] [--width 0.5] [--threads 1]
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { distill } from '@kestrel/trainer/distill/distill';
import { makeFrames } from '../test/trainer/support/frames.js';

const { values: v } = parseArgs({
  options: {
    'per-photo': { type: 'string', default: '40' }, minutes: { type: 'string', default: '6' }, imgsz: { type: 'string', default: '320' },
    width: { type: 'string', default: '0.5' }, threads: { type: 'string', default: '1' }, dir: { type: 'string', default: '/tmp/kestrel-distill' },
    classes: { type: 'string', default: 'person,motorcycle,car,bicycle' },
  },
});
await makeFrames(join(v.dir!, 'frames'), Number(v['per-photo']), 416);
const r = await distill({
  frames: join(v.dir!, 'frames'), classes: v.classes!.split(','), imgsz: Number(v.imgsz), width: Number(v.width), epochs: 40,
  timeMinutes: Number(v.minutes), threads: Number(v.threads), project: join(v.dir!, 'runs'), name: 'bench',
});
console.log(JSON.stringify({ classes: r.classes, frames: r.frames, teacherBoxes: r.teacherBoxes, heldOut: r.heldOut, speed: r.speed, student: r.student, trainingSeconds: r.trainingSeconds }, null, 1));
