// The review UI's editor state and keyboard table (deploy/ui/src/editor), outside the browser:
// every edit keeps boxes inside the frame and at least a pixel big, undo goes back one edit,
// and each documented key means the command the help panel says.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clampBox, defaultBox, initialState, reduce, type EditorAction, type EditorState } from '../../../deploy/ui/src/editor/state.js';
import { commandFor, SHORTCUTS } from '../../../deploy/ui/src/editor/keys.js';

const frame: [number, number] = [640, 480];
const run = (state: EditorState, ...actions: EditorAction[]) => actions.reduce(reduce, state);

test('boxes stay inside the frame, keep their size when pushed against an edge, and are whole pixels', () => {
  assert.deepEqual(clampBox([600, 10, 700, 50], frame), [540, 10, 640, 50]);
  assert.deepEqual(clampBox([50, 40, 10, 20], frame), [10, 20, 50, 40], 'corners put in order');
  assert.deepEqual(clampBox([5, 5, 5, 5], frame), [5, 5, 6, 6], 'at least a pixel');
  assert.deepEqual(defaultBox(frame), [240, 180, 400, 300]);
  const s = run(initialState([{ label: 'person', score: 0.4, box: [10, 10, 110, 60] }], frame), { type: 'move', dx: -50, dy: 1000 });
  assert.deepEqual(s.boxes[0].box, [0, 430, 100, 480]);
  assert.equal(s.boxes[0].score, undefined, 'an edited box is a person\'s, without the model\'s score');
  const shrunk = run(s, { type: 'resize', dw: -500, dh: -500 });
  assert.deepEqual(shrunk.boxes[0].box, [0, 430, 1, 431]);
  const grown = run(s, { type: 'resize', dw: 5000, dh: 0 });
  assert.deepEqual(grown.boxes[0].box, [0, 430, 640, 480]);
});

test('add, delete, relabel and undo; cycling wraps; a drag is one undo step', () => {
  let s = initialState([{ label: 'person', box: [0, 0, 10, 10] }, { label: 'tie', box: [20, 20, 30, 30] }], frame);
  assert.equal(s.selected, 0);
  s = run(s, { type: 'cycle', step: -1 });
  assert.equal(s.selected, 1);
  s = run(s, { type: 'delete' });
  assert.deepEqual(s.boxes.map((b) => b.label), ['person']);
  assert.equal(s.selected, 0);
  s = run(s, { type: 'add', label: 'cat' }, { type: 'label', label: 'dog' });
  assert.deepEqual(s.boxes.map((b) => b.label), ['person', 'dog']);
  assert.equal(s.selected, 1);
  s = run(s, { type: 'checkpoint' }, { type: 'setBox', box: [100, 100, 150, 150], record: false }, { type: 'setBox', box: [110, 100, 160, 150], record: false });
  assert.deepEqual(s.boxes[1].box, [110, 100, 160, 150]);
  s = run(s, { type: 'undo' });
  assert.deepEqual(s.boxes[1].box, defaultBox(frame), 'the whole drag undone at once');
  s = run(s, { type: 'undo' }, { type: 'undo' }, { type: 'undo' });
  assert.deepEqual(s.boxes.map((b) => b.label), ['person', 'tie'], 'back to what was loaded');
  assert.deepEqual(run(s, { type: 'undo' }).boxes, s.boxes, 'nothing more to undo');
  assert.equal(run(initialState([], frame), { type: 'delete' }).boxes.length, 0);
});

test('every key in the help panel maps to a command, and arrows nudge by the step (Shift: 10×)', () => {
  const key = (k: string, mods: Partial<{ shiftKey: boolean; altKey: boolean; ctrlKey: boolean; metaKey: boolean }> = {}) => commandFor({ key: k, shiftKey: false, altKey: false, ctrlKey: false, metaKey: false, ...mods }, 3);
  assert.deepEqual(key('ArrowRight'), { command: 'move', dx: 3, dy: 0 });
  assert.deepEqual(key('ArrowUp', { shiftKey: true }), { command: 'move', dx: 0, dy: -30 });
  assert.deepEqual(key('ArrowDown', { altKey: true }), { command: 'resize', dx: 0, dy: 3 });
  assert.equal(key('Tab')?.command, 'next-box');
  assert.equal(key('Tab', { shiftKey: true })?.command, 'prev-box');
  assert.deepEqual(key('4'), { command: 'class-n', n: 4 });
  const expected: Record<string, string> = { Enter: 'save', a: 'accept-all', A: 'accept-all', x: 'nothing-here', n: 'new-box', Delete: 'delete', Backspace: 'delete', c: 'change-class', z: 'undo', ' ': 'skip', p: 'previous-sample', Escape: 'deselect' };
  for (const [k, command] of Object.entries(expected)) assert.equal(key(k)?.command, command, k);
  assert.equal(key('z', { ctrlKey: true })?.command, 'undo');
  assert.equal(key('s', { ctrlKey: true }), undefined, 'browser shortcuts are left alone');
  assert.equal(key('q'), undefined);
  assert.ok(SHORTCUTS.length >= 12);
});
