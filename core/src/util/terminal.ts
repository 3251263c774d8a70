/**
 * One line kept at the bottom of the terminal, such as a training progress bar. Log lines on a
 * terminal are written through `writeAboveBottomLine`, which clears that line, prints the log
 * line in its place and lets the bar draw itself again below: the two never write over each other.
 */
export interface BottomLine {
  /** Draws the line again (the cursor is at the start of an empty line). */
  redraw(): void;
}

let bottom: BottomLine | undefined;

/** While held, log lines go above `line`. Returns the release; releasing a line no longer held does nothing. */
export function holdBottomLine(line: BottomLine): () => void {
  bottom = line;
  return () => {
    if (bottom === line) bottom = undefined;
  };
}

/** Writes `text` (whole lines) to stderr, above the bottom line if one is held. */
export function writeAboveBottomLine(text: string): void {
  const line = bottom;
  if (!line) {
    process.stderr.write(text);
    return;
  }
  // \r and erase-line: the bar's partial line is replaced, not appended to.
  process.stderr.write(`\r\x1b[2K${text}`);
  line.redraw();
}
