import { isKestrelError } from '@kestrel/core';

/** Options every reporting command shares. */
export interface OutputOptions {
  json?: boolean;
}

/** One JSON document on stdout: what `--json` promises to scripts. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/**
 * Wraps a command action: user errors (KestrelError) print one clear line (or a JSON error
 * document with --json) and exit 2; anything else is a bug and keeps its stack.
 */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void | number>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    const cmd = args[args.length - 1] as { opts?: () => OutputOptions } | undefined;
    const json = typeof cmd?.opts === 'function' ? Boolean(cmd.opts().json) : false;
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

export function table(rows: (string | number)[][], header?: string[]): string {
  const all = header ? [header, ...rows] : rows;
  const widths = all[0]?.map((_, i) => Math.max(...all.map((r) => String(r[i] ?? '').length))) ?? [];
  const line = (r: (string | number)[]) => r.map((c, i) => (typeof c === 'number' ? String(c).padStart(widths[i]) : String(c).padEnd(widths[i]))).join('  ');
  const out = all.map(line);
  if (header) out.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '));
  return out.join('\n');
}
