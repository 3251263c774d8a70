// The editor's state as a reducer: the boxes being edited (in the sample's frame pixels, as the
// hub stores them), which one is selected, and an undo history. Every change keeps boxes inside
// the frame and at least one pixel big, so what the editor can produce the hub accepts.
import type { Box, LabelBox } from '../api.js';

export interface EditorState {
  frame: [number, number];
  boxes: LabelBox[];
  selected: number | null;
  /** Earlier `boxes`, newest last (undo). */
  history: LabelBox[][];
  /** Changed since loaded. */
  dirty: boolean;
}

export type EditorAction =
  | { type: 'load'; boxes: LabelBox[]; frame: [number, number] }
  | { type: 'select'; index: number | null }
  | { type: 'cycle'; step: 1 | -1 }
  /** Starts an edit that later actions continue without new undo steps (a mouse drag). */
  | { type: 'checkpoint' }
  | { type: 'move'; dx: number; dy: number; record?: boolean }
  | { type: 'resize'; dw: number; dh: number; record?: boolean }
  | { type: 'setBox'; box: Box; record?: boolean }
  | { type: 'add'; label: string; box?: Box; record?: boolean }
  | { type: 'delete' }
  | { type: 'label'; label: string }
  | { type: 'undo' };

export function initialState(boxes: LabelBox[], frame: [number, number]): EditorState {
  return { frame, boxes: boxes.map(copy), selected: boxes.length ? 0 : null, history: [], dirty: false };
}

function copy(l: LabelBox): LabelBox {
  return { label: l.label, box: [...l.box] as Box, ...(l.score !== undefined ? { score: l.score } : {}) };
}

/** A box inside the frame, corners in order, at least one pixel each way; whole pixels. */
export function clampBox([x1, y1, x2, y2]: Box, [fw, fh]: [number, number]): Box {
  const l = Math.min(x1, x2);
  const t = Math.min(y1, y2);
  const r = Math.max(x1, x2);
  const b = Math.max(y1, y2);
  const w = Math.min(fw, Math.max(1, r - l));
  const h = Math.min(fh, Math.max(1, b - t));
  const nx = Math.min(Math.max(0, l), fw - w);
  const ny = Math.min(Math.max(0, t), fh - h);
  return [Math.round(nx), Math.round(ny), Math.round(nx + w), Math.round(ny + h)];
}

/** A new box in the middle of the frame, a quarter of it each way: a start to move and resize with the keys. */
export function defaultBox([fw, fh]: [number, number]): Box {
  return clampBox([fw * 0.375, fh * 0.375, fw * 0.625, fh * 0.625], [fw, fh]);
}

function withBoxes(state: EditorState, boxes: LabelBox[], record: boolean, selected = state.selected): EditorState {
  return { ...state, boxes, selected, dirty: true, history: record ? [...state.history.slice(-99), state.boxes] : state.history };
}

function edit(state: EditorState, record: boolean | undefined, fn: (l: LabelBox) => LabelBox): EditorState {
  const i = state.selected;
  if (i === null || !state.boxes[i]) return state;
  const boxes = state.boxes.map((l, k) => (k === i ? fn(l) : l));
  return withBoxes(state, boxes, record !== false);
}

export function reduce(state: EditorState, action: EditorAction): EditorState {
  const frame = state.frame;
  switch (action.type) {
    case 'load':
      return initialState(action.boxes, action.frame);
    case 'select':
      return { ...state, selected: action.index !== null && state.boxes[action.index] ? action.index : null };
    case 'cycle': {
      const n = state.boxes.length;
      if (n === 0) return state;
      const from = state.selected ?? (action.step === 1 ? -1 : 0);
      return { ...state, selected: (from + action.step + n) % n };
    }
    case 'checkpoint':
      return { ...state, history: [...state.history.slice(-99), state.boxes] };
    case 'move':
      // A moved box keeps its size: shifted back inside at the edge rather than squashed.
      return edit(state, action.record, (l) => ({ label: l.label, box: clampBox([l.box[0] + action.dx, l.box[1] + action.dy, l.box[2] + action.dx, l.box[3] + action.dy], frame) }));
    case 'resize':
      return edit(state, action.record, (l) => ({ label: l.label, box: clampBox([l.box[0], l.box[1], Math.max(l.box[0] + 1, Math.min(frame[0], l.box[2] + action.dw)), Math.max(l.box[1] + 1, Math.min(frame[1], l.box[3] + action.dh))], frame) }));
    case 'setBox':
      return edit(state, action.record, (l) => ({ label: l.label, box: clampBox(action.box, frame) }));
    case 'add': {
      const box = clampBox(action.box ?? defaultBox(frame), frame);
      return withBoxes(state, [...state.boxes, { label: action.label, box }], action.record !== false, state.boxes.length);
    }
    case 'delete': {
      const i = state.selected;
      if (i === null || !state.boxes[i]) return state;
      const boxes = state.boxes.filter((_, k) => k !== i);
      return withBoxes(state, boxes, true, boxes.length ? Math.min(i, boxes.length - 1) : null);
    }
    case 'label':
      return edit(state, true, (l) => ({ label: action.label, box: l.box }));
    case 'undo': {
      const previous = state.history[state.history.length - 1];
      if (!previous) return state;
      return { ...state, boxes: previous, history: state.history.slice(0, -1), dirty: true, selected: previous.length ? Math.min(state.selected ?? 0, previous.length - 1) : null };
    }
  }
}
