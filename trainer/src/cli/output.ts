// How trainer commands talk to people and scripts: --json prints exactly one JSON document on
// stdout (logs go to stderr); user errors (KestrelError) print one line and exit 2.
import { isKestrelError } from '@kestrel/core/util/errors';
import { KestrelError } from '@kestrel/core/util/errors';

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`);
}

export function action<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    const cmd = args[args.length - 1] as { opts?: () => { json?: boolean } } | undefined;
    const json = typeof cmd?.opts === 'function' ? Boolean(cmd.opts().json) : false;
    try {
      await fn(...args);
    } catch (err) {
      if (!isKestrelError(err)) throw err;
      if (json) printJson({ ok: false, error: { code: err.code, message: err.message } });
      process.stderr.write(`kestrel: ${err.message}\n`);
      process.exitCode = 2;
    }
  };
}

export function num(value: string | undefined, flag: string, check: (n: number) => boolean = Number.isFinite, what = 'a number'): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !check(n)) throw new KestrelError('E_USAGE', `${flag} must be ${what}, got "${value}"`);
  return n;
}

export const int = (value: string | undefined, flag: string): number | undefined => num(value, flag, (n) => Number.isInteger(n) && n > 0, 'a positive integer');
export const positive = (value: string | undefined, flag: string): number | undefined => num(value, flag, (n) => n > 0, 'a positive number');

export function list(value: string | undefined): string[] | undefined {
  return value === undefined ? undefined : value.split(',').map((s) => s.trim()).filter(Boolean);
}
