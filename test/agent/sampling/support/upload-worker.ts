// A device-side uploader as its own process, so tests can kill it mid-upload:
//   node ... upload-worker.ts <bufferDir> <hubUrl> <token> [crashAfterConfirmedBatches]
// Prints one JSON line per answered batch ({ duplicates }: how many the hub already had), so a
// test sees them even from a worker it killed; runs until the buffer is empty, then prints its
// stats as JSON and exits 0. With the last
// argument it SIGKILLs itself right after the hub confirmed that many batches — before the
// buffer removes them: the worst moment to die.
import { createLogger } from '@kestrel/core';
import { HttpTransport, SampleBuffer, Uploader, type OutgoingSample, type SampleTransport } from '@kestrel/agent/sampling/index';

const [dir, url, token, crashAfter] = process.argv.slice(2);
const logger = createLogger('upload-worker', { level: 'warn' });
const buffer = new SampleBuffer({ dir, maxBytes: 1e9, maxAgeMs: 1e12 }, logger);
buffer.open();
const http = new HttpTransport({ url, token, deviceId: 'pi-1', timeoutMs: 10_000 });
let confirmed = 0;
const transport: SampleTransport = {
  name: 'http',
  async send(samples: readonly OutgoingSample[]) {
    const outcomes = await http.send(samples);
    confirmed++;
    process.stdout.write(`${JSON.stringify({ batch: confirmed, duplicates: outcomes.filter((o) => o.status === 'duplicate').length })}\n`);
    if (crashAfter && confirmed >= Number(crashAfter)) process.kill(process.pid, 'SIGKILL');
    return outcomes;
  },
};
const uploader = new Uploader(buffer, transport, { batchSize: 4, backoff: { minMs: 50, maxMs: 500 }, idleMs: 50 }, logger);
uploader.start();
process.stderr.write('worker started\n');
const timer = setInterval(async () => {
  if (buffer.stats().pending > 0) return;
  clearInterval(timer);
  await uploader.stop();
  process.stdout.write(`${JSON.stringify(uploader.stats())}\n`);
  buffer.close();
  process.exit(0);
}, 50);
