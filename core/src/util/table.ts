// Plain-text tables for commands' human output (`--json` is for scripts): columns two spaces
// apart, each as wide as its widest cell, no trailing spaces.

export type Align = 'left' | 'right';

export interface TableOptions {
  /** Alignment by column; without it text is left-aligned and numbers right-aligned. */
  align?: readonly Align[];
  /** A line of dashes under the header. */
  rule?: boolean;
}

/** The header and rows as lines joined by newlines, without a final newline. */
export function table(header: readonly string[], rows: readonly (readonly (string | number)[])[], options: TableOptions = {}): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => String(r[i] ?? '').length)));
  const cell = (c: string | number, i: number) => {
    const align = options.align?.[i] ?? (typeof c === 'number' ? 'right' : 'left');
    return align === 'right' ? String(c).padStart(widths[i]) : String(c).padEnd(widths[i]);
  };
  const line = (r: readonly (string | number)[]) => r.map(cell).join('  ').trimEnd();
  const out = all.map(line);
  if (options.rule) out.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '));
  return out.join('\n');
}
