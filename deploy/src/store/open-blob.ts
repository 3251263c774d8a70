import type { Readable } from 'node:stream';
import type { OpenBlob } from './types.js';

/**
 * An OpenBlob for any store: `size` as the store read it when opening, one stream per open (a
 * second would read a handle the first already consumed or closed), and `release` for a blob
 * opened but never streamed.
 */
export function singleStreamBlob(key: string, size: number, stream: (range?: { start: number; end: number }) => Readable, release: () => Promise<void> = async () => undefined): OpenBlob {
  let taken = false;
  return {
    size,
    stream(range) {
      if (taken) throw new Error(`blob "${key}": one stream per open`);
      taken = true;
      return stream(range);
    },
    async close() {
      if (!taken) await release();
    },
  };
}
