// How every part's commands talk to people and scripts: `--json` prints exactly one JSON document
// on stdout (logs go to stderr); a user error (KestrelError) prints one line and exits 2.
import { isKestrelError } from './errors.js';

/**
 * One JSON document on stdout: what `--json` promises to scripts. NaN and ±Infinity come out as
 * null (JSON.stringify's own rule), so a metric that could not be computed never breaks a parser.
 */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export interface ActionOptions {
  /** Name the command in the error line (`kestrel quantize: …` rather than `kestrel: …`). */
  nameCommand?: boolean;
}

/**
 * Wraps a command action (any part's): user errors (KestrelError) print one clear line, or a
 * JSON error document with --json, and exit 2; anything else is a bug and keeps its stack.
 * A number returned becomes the exit code.
 */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void | number>, options: ActionOptions = {}): (...args: A) => Promise<void> {
  return async (...args: A) => {
    // commander calls an action with (...arguments, options, command).
    const cmd = args[args.length - 1] as { opts?: () => { json?: boolean }; name?: () => string } | undefined;
    const opts = args[args.length - 2] as { json?: boolean } | undefined;
    const json = typeof cmd?.opts === 'function' ? Boolean(cmd.opts().json) : Boolean(opts?.json);
    try {
      const code = await fn(...args);
      if (typeof code === 'number') process.exitCode = code;
    } catch (err) {
      if (isKestrelError(err)) {
        if (json) printJson({ ok: false, error: { code: err.code, message: err.message } });
        const who = options.nameCommand && typeof cmd?.name === 'function' ? `kestrel ${cmd.name()}` : 'kestrel';
        process.stderr.write(`${who}: ${err.message}\n`);
        process.exitCode = 2;
        return;
      }
      throw err;
    }
  };
}
