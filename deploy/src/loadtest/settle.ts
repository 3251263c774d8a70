import { KestrelError } from '@kestrel/core';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Until `done()`, or until `progress()` has read the same for 5 s, or the deadline. A progress of
 * undefined (a replica too busy to answer) is no sign of rest: an overloaded run is not cut short.
 */
export async function settle(done: () => Promise<boolean>, progress: () => Promise<number | undefined>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = await progress();
  let since = Date.now();
  while (Date.now() < deadline) {
    if (await done()) return;
    await sleep(500);
    const now = await progress();
    if (now === undefined || now !== last) {
      last = now;
      since = Date.now();
    } else if (Date.now() - since > 5000) return;
  }
}

/** `p`, or E_LOADTEST with `message` after `ms`. */
export async function withDeadline<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new KestrelError('E_LOADTEST', message)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

