// The editor's keyboard shortcuts, one table: the handler reads it and the help panel shows it,
// so the two cannot disagree. Close to CVAT's and Label Studio's habits: N new box, Delete,
// Tab through boxes, arrows to nudge, digits for classes, Enter to submit.

export type Command =
  | 'next-box'
  | 'prev-box'
  | 'move'
  | 'resize'
  | 'new-box'
  | 'delete'
  | 'change-class'
  | 'class-n'
  | 'accept-all'
  | 'nothing-here'
  | 'save'
  | 'skip'
  | 'previous-sample'
  | 'undo'
  | 'deselect';

export const SHORTCUTS: { keys: string; what: string }[] = [
  { keys: 'Enter', what: 'save the boxes shown, next sample' },
  { keys: 'A', what: 'accept all pre-labels as they are, next' },
  { keys: 'X', what: 'nothing here (no objects), next' },
  { keys: 'Tab / Shift+Tab', what: 'select the next / previous box' },
  { keys: '← ↑ → ↓', what: 'move the selected box (Shift: 10×)' },
  { keys: 'Alt + ← ↑ → ↓', what: 'resize it: right and bottom edge (Shift: 10×)' },
  { keys: 'N', what: 'new box (then move and resize it, or drag on the image)' },
  { keys: 'Delete / Backspace', what: 'delete the selected box' },
  { keys: 'C', what: 'change the selected box\'s class (type, Enter)' },
  { keys: '1 … 9', what: 'set the selected box to that class' },
  { keys: 'Z', what: 'undo' },
  { keys: 'Space / P', what: 'skip to the next / previous sample' },
  { keys: 'Esc', what: 'deselect' },
];

export interface KeyCommand {
  command: Command;
  dx?: number;
  dy?: number;
  n?: number;
}

const ARROWS: Record<string, [number, number]> = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };

/** The command a key press means, or undefined. `step` is the frame pixels of one nudge. */
export function commandFor(e: Pick<KeyboardEvent, 'key' | 'shiftKey' | 'altKey' | 'ctrlKey' | 'metaKey'>, step: number): KeyCommand | undefined {
  if (e.ctrlKey || e.metaKey) return e.key.toLowerCase() === 'z' ? { command: 'undo' } : undefined;
  const arrow = ARROWS[e.key];
  if (arrow) {
    const s = step * (e.shiftKey ? 10 : 1);
    return { command: e.altKey ? 'resize' : 'move', dx: arrow[0] * s, dy: arrow[1] * s };
  }
  if (e.altKey) return undefined;
  if (/^[1-9]$/.test(e.key)) return { command: 'class-n', n: Number(e.key) };
  switch (e.key) {
    case 'Tab':
      return { command: e.shiftKey ? 'prev-box' : 'next-box' };
    case 'Enter':
      return { command: 'save' };
    case 'Delete':
    case 'Backspace':
      return { command: 'delete' };
    case 'Escape':
      return { command: 'deselect' };
    case ' ':
      return { command: 'skip' };
  }
  switch (e.key.toLowerCase()) {
    case 'a':
      return { command: 'accept-all' };
    case 'x':
      return { command: 'nothing-here' };
    case 'n':
      return { command: 'new-box' };
    case 'c':
      return { command: 'change-class' };
    case 'z':
      return { command: 'undo' };
    case 'p':
      return { command: 'previous-sample' };
  }
  return undefined;
}
