import { isKestrelError } from './errors.js';

/** One JSON document on stdout: what `--json` promises to scripts. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/**
 * Wraps a command action (any part's): user errors (KestrelError) print one clear line, or a
 * JSON error document with --json, and exit 2; anything else is a bug and keeps its stack.
 * A number returned becomes the exit code.
 */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void | number>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    const cmd = args[args.length - 1] as { opts?: () => { json?: boolean } } | undefined;
    const opts = args[args.length - 2] as { json?: boolean } | undefined;
    const json = typeof cmd?.opts === 'function' ? Boolean(cmd.opts().json) : Boolean(opts?.json);
    try {
      const code = await fn(...args);
      if (typeof code === 'number') process.exitCode = code;
    } catch (err) {
      if (isKestrelError(err)) {
        if (json) printJson({ ok: false, error: { code: err.code, message: err.message } });
        process.stderr.write(`kestrel: ${err.message}\n`);
        process.exitCode = 2;
        return;
      }
      throw err;
    }
  };
}
