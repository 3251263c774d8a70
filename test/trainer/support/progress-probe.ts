// Two epochs of the trainer's progress display with log lines while a bar is drawn (a warning
// mid-epoch, as the data loader writes for a bad image) and between epochs: run on a terminal
// by progress-terminal.test.ts.
import { createLogger } from '@kestrel/core/util/log';
import { createProgress } from '@kestrel/trainer/train/progress';

const log = createLogger('train');
const progress = createProgress(log);
const values = { loss: 1.5, cls: 0.5, box: 0.75, dfl: 0.25, lr: 0.001 };
for (let epoch = 0; epoch < 2; epoch++) {
  progress.startEpoch(epoch, 2, 4);
  for (let step = 1; step <= 4; step++) {
    progress.step(step, values);
    if (step === 2) log.warn({ image: `img-${epoch}.jpg`, reason: 'truncated JPEG' }, 'image skipped');
    await new Promise((r) => setTimeout(r, 30));
  }
  progress.endEpoch(`epoch ${epoch + 1}/2: loss 1.500`);
}
progress.stop();
log.info('done');
