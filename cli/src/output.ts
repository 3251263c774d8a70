// The action wrapper and JSON printing are shared with every part's commands (core/util/cli).
export { action, printJson } from '@kestrel/core';

/** Options every reporting command shares. */
export interface OutputOptions {
  json?: boolean;
}

export function table(rows: (string | number)[][], header?: string[]): string {
  const all = header ? [header, ...rows] : rows;
  const widths = all[0]?.map((_, i) => Math.max(...all.map((r) => String(r[i] ?? '').length))) ?? [];
  const line = (r: (string | number)[]) => r.map((c, i) => (typeof c === 'number' ? String(c).padStart(widths[i]) : String(c).padEnd(widths[i]))).join('  ');
  const out = all.map(line);
  if (header) out.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '));
  return out.join('\n');
}
