// Polling until something is true, for tests that wait on other processes (an agent, a hub, a
// broker). A poll that throws or answers undefined/false means "not yet"; the timeout error says
// what was awaited and the last error seen, so a failure names its cause.
export function waitFor<T>(what: string, timeoutMs: number, poll: () => T | undefined | false | Promise<T | undefined | false>, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  return new Promise((resolve, reject) => {
    const tick = async (): Promise<void> => {
      let v: T | undefined | false;
      try {
        v = await poll();
      } catch (err) {
        lastError = err;
        v = undefined;
      }
      if (v !== undefined && v !== false) return resolve(v);
      if (Date.now() > deadline) {
        const cause = lastError === undefined ? '' : ` (last error: ${(lastError as Error).message ?? String(lastError)})`;
        return reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}${cause}`));
      }
      setTimeout(() => void tick(), everyMs);
    };
    void tick();
  });
}
