// What a terminal shows after some output: enough of a VT100 for progress bars and log lines
// (carriage return, newline, erase line, cursor column, save/restore cursor; colours ignored).
// Tests read the screen a person would see, not the bytes.

/** The lines of the screen after `output`, trailing spaces trimmed. */
export function renderScreen(output: string): string[] {
  const rows: string[][] = [[]];
  let row = 0;
  let col = 0;
  let saved = { row: 0, col: 0 };
  const line = () => (rows[row] ??= []);
  for (let i = 0; i < output.length; i++) {
    const c = output[i]!;
    if (c === '\x1b') {
      const next = output[i + 1];
      if (next === '7') {
        saved = { row, col };
        i++;
      } else if (next === '8') {
        ({ row, col } = saved);
        i++;
      } else if (next === '[') {
        const m = /^\[([0-9;?]*)([A-Za-z])/.exec(output.slice(i + 1));
        if (!m) continue;
        i += m[0].length;
        const n = Number(m[1]!.replace('?', '') || '0');
        if (m[2] === 'K') {
          if (n === 2) rows[row] = [];
          else if (n === 0) line().length = Math.min(line().length, col);
        } else if (m[2] === 'G') {
          col = Math.max(0, (n || 1) - 1);
        }
        // m (colours), h/l (cursor, wrapping modes): nothing to draw.
      }
    } else if (c === '\r') {
      col = 0;
    } else if (c === '\n') {
      row++;
      line();
    } else if (c >= ' ') {
      const l = line();
      while (l.length < col) l.push(' ');
      l[col++] = c;
    }
  }
  return rows.map((r) => (r ?? []).join('').trimEnd());
}
