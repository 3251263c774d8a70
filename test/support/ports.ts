import { createServer } from 'node:net';
import { randomBytes } from 'node:crypto';

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/** A topic prefix no other test (or a running agent) uses. */
export function uniquePrefix(tag = 't'): string {
  return `kestrel-test-${tag}-${randomBytes(4).toString('hex')}`;
}
