/**
 * An error meant for the person running Kestrel: `code` is stable for scripts and tests,
 * `message` says what is wrong and, where it can, what to do. The CLI prints these without a
 * stack trace; any other error is a bug and is printed with one.
 */
export class KestrelError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'KestrelError';
  }
}

export function isKestrelError(err: unknown): err is KestrelError {
  return err instanceof Error && err.name === 'KestrelError' && typeof (err as KestrelError).code === 'string';
}
