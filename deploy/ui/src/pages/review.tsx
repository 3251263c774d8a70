import { useEffect, useLayoutEffect, useMemo, useReducer, useRef, useState } from 'preact/hooks';
import { api, ApiError, queuePath, samplePath, type LabelBox, type QueueAnswer, type QueueFilter, type Sample } from '../api.js';
import { commandFor, SHORTCUTS } from '../editor/keys.js';
import { Stage } from '../editor/stage.js';
import { initialState, reduce } from '../editor/state.js';
import { classColour, classesOf, useImage } from '../image.js';
import { queueHref, reviewHref } from '../route.js';
import { Progress } from './queue.js';

const LAST_LABEL_KEY = 'kestrel.lastLabel';

/** One sample in the editor: its pre-labels (or the review saved before), edited and saved with keys or the mouse. */
export function ReviewPage({ sample: ref, filter }: { sample: { deviceId: string; id: string }; filter: QueueFilter }) {
  const [sample, setSample] = useState<Sample>();
  const [queue, setQueue] = useState<QueueAnswer>();
  const [error, setError] = useState('');
  const [stale, setStale] = useState(false);
  const [notice, setNotice] = useState('');
  const [busy, setBusy] = useState(false);
  const [editingClass, setEditingClass] = useState<string | null>(null);
  const [lastLabel, setLastLabel] = useState(() => sessionStorage.getItem(LAST_LABEL_KEY) ?? '');
  const [state, dispatch] = useReducer(reduce, initialState([], [1, 1]));
  const image = useImage(samplePath(ref) + '/image');

  const load = async () => {
    setError('');
    setStale(false);
    try {
      const s = await api<Sample>(samplePath(ref));
      setSample(s);
      dispatch({ type: 'load', boxes: s.reviewed?.labels ?? s.detections, frame: s.frameSize });
    } catch (err) {
      setError((err as Error).message);
    }
  };
  const loadQueue = () => api<QueueAnswer>(queuePath(filter)).then(setQueue, (err: Error) => setError(err.message));
  useEffect(() => {
    void load();
    void loadQueue();
  }, []);

  // The classes to offer: the hub's list when it has one, else every label seen so far, sorted.
  const classes = useMemo(() => classesOf([...(queue?.samples ?? []), ...(sample ? [sample] : [])], queue?.rules.classes, state.boxes), [queue, sample, state.boxes]);
  const newLabel = lastLabel && (!queue?.rules.classes || queue.rules.classes.includes(lastLabel)) ? lastLabel : (classes[0] ?? 'object');
  const rememberLabel = (label: string) => {
    setLastLabel(label);
    sessionStorage.setItem(LAST_LABEL_KEY, label);
  };

  /** The next sample of the queue after this one (this one has left it once saved). */
  const goNext = async () => {
    const fresh = await api<QueueAnswer>(queuePath(filter)).catch(() => queue);
    const list = fresh?.samples ?? [];
    const at = list.findIndex((s) => s.deviceId === ref.deviceId && s.id === ref.id);
    const next = at >= 0 ? list[at + 1] : list[0];
    location.hash = next ? reviewHref(next, filter) : queueHref(filter);
  };

  const save = async (labels: LabelBox[], what: string) => {
    if (!sample || busy) return;
    setBusy(true);
    setError('');
    try {
      await api<Sample>(`${samplePath(ref)}/review`, { method: 'PUT', body: { labels: labels.map((l) => ({ label: l.label, box: l.box })), expectedAt: sample.reviewed?.at ?? null } });
      setNotice(`saved: ${what}`);
      await goNext();
    } catch (err) {
      const e = err as ApiError;
      if (e.status === 409) setStale(true);
      setError(e.message);
    } finally {
      setBusy(false);
    }
  };

  // Between C and the class field taking focus, keys still reach the window: they are the new
  // name's first letters (kept for the field), never commands — an "a" typed fast must not accept all.
  const classEditing = useRef(false);
  const pendingClass = useRef('');

  /** The class field closed: with a name, the selected box takes it (when the hub allows it). */
  const classDone = (label: string | null) => {
    classEditing.current = false;
    setEditingClass(null);
    if (!label) return;
    if (queue?.rules.classes && !queue.rules.classes.includes(label)) return setError(`"${label}" is not one of this hub's classes (${queue.rules.classes.join(', ')})`);
    dispatch({ type: 'label', label });
    rememberLabel(label);
  };

  const step = sample ? Math.max(1, Math.round(sample.frameSize[0] / 200)) : 1;
  const handlers = useRef<(e: KeyboardEvent) => void>(() => undefined);
  handlers.current = (e: KeyboardEvent) => {
    const target = e.target as HTMLElement | null;
    if (target && (target.tagName === 'INPUT' || target.tagName === 'SELECT' || target.tagName === 'TEXTAREA')) return;
    if (classEditing.current) {
      e.preventDefault();
      if (e.key === 'Enter' || e.key === 'Escape') {
        const typed = pendingClass.current.trim();
        pendingClass.current = '';
        return classDone(e.key === 'Enter' && typed ? typed : null);
      }
      if (e.key.length === 1 && !e.ctrlKey && !e.metaKey && !e.altKey) pendingClass.current += e.key;
      return;
    }
    const cmd = commandFor(e, step);
    if (!cmd || !sample) return;
    e.preventDefault();
    const selected = state.selected !== null ? state.boxes[state.selected] : undefined;
    switch (cmd.command) {
      case 'next-box':
        return dispatch({ type: 'cycle', step: 1 });
      case 'prev-box':
        return dispatch({ type: 'cycle', step: -1 });
      case 'move':
        return dispatch({ type: 'move', dx: cmd.dx!, dy: cmd.dy! });
      case 'resize':
        return dispatch({ type: 'resize', dw: cmd.dx!, dh: cmd.dy! });
      case 'new-box':
        return dispatch({ type: 'add', label: newLabel });
      case 'delete':
        return dispatch({ type: 'delete' });
      case 'change-class':
        if (!selected) return;
        classEditing.current = true;
        pendingClass.current = '';
        setEditingClass(selected.label);
        return;
      case 'class-n': {
        const label = classes[cmd.n! - 1];
        if (selected && label) {
          dispatch({ type: 'label', label });
          rememberLabel(label);
        }
        return;
      }
      case 'accept-all':
        return void save(sample.detections, 'pre-labels accepted');
      case 'nothing-here':
        return void save([], 'nothing here');
      case 'save':
        return void save(state.boxes, `${state.boxes.length} box${state.boxes.length === 1 ? '' : 'es'}`);
      case 'skip':
        return void goNext();
      case 'previous-sample':
        return history.back();
      case 'undo':
        return dispatch({ type: 'undo' });
      case 'deselect':
        return dispatch({ type: 'select', index: null });
    }
  };
  useEffect(() => {
    const listener = (e: KeyboardEvent) => handlers.current(e);
    addEventListener('keydown', listener);
    return () => removeEventListener('keydown', listener);
  }, []);

  if (!sample) return <section class="review">{error ? <p class="error">{error}</p> : <p>loading…</p>}</section>;
  const maxLength = queue?.rules.maxLabelLength ?? 64;
  return (
    <section class="review">
      <div class="editor">
        <Stage classes={classes} url={image.url} frame={sample.frameSize} boxes={state.boxes} selected={state.selected} dispatch={dispatch} newLabel={newLabel} />
        <div class="actions">
          <button id="save" disabled={busy} onClick={() => save(state.boxes, `${state.boxes.length} boxes`)}>
            Save &amp; next <kbd>Enter</kbd>
          </button>
          <button id="accept" disabled={busy} onClick={() => save(sample.detections, 'pre-labels accepted')}>
            Accept all <kbd>A</kbd>
          </button>
          <button id="nothing" disabled={busy} onClick={() => save([], 'nothing here')}>
            Nothing here <kbd>X</kbd>
          </button>
          <button class="quiet" onClick={() => dispatch({ type: 'add', label: newLabel })}>
            New box <kbd>N</kbd>
          </button>
          <button class="quiet" disabled={state.history.length === 0} onClick={() => dispatch({ type: 'undo' })}>
            Undo <kbd>Z</kbd>
          </button>
          <button class="quiet" onClick={() => goNext()}>
            Skip <kbd>Space</kbd>
          </button>
          <a class="quiet" href={queueHref(filter)}>
            Back to the queue
          </a>
        </div>
        {error && (
          <p class="error" role="alert" id="error">
            {error}{' '}
            {stale && (
              <button class="quiet" onClick={() => load()}>
                Load their version
              </button>
            )}
          </p>
        )}
        {notice && !error && <p class="notice">{notice}</p>}
      </div>
      <aside class="side">
        {queue && <Progress progress={queue.progress} />}
        <dl class="facts">
          <dt>sample</dt>
          <dd id="sample-id">{sample.id}</dd>
          <dt>device · camera</dt>
          <dd>
            {sample.deviceId} · {sample.camera}
          </dd>
          <dt>kept for</dt>
          <dd>
            {sample.reasons.join(', ')} (uncertainty {sample.uncertainty.toFixed(2)})
          </dd>
          <dt>captured</dt>
          <dd>{new Date(sample.capturedAt).toLocaleString()}</dd>
          <dt>labels</dt>
          <dd>{sample.reviewed ? `reviewed by ${sample.reviewed.by}, ${new Date(sample.reviewed.at).toLocaleString()}` : `pre-labels of model ${sample.modelVersion}`}</dd>
        </dl>
        <h3>Boxes {state.dirty && <span class="hint">(edited)</span>}</h3>
        <ol class="boxes" id="boxes">
          {state.boxes.map((l, i) => (
            <li key={i} class={i === state.selected ? 'on' : ''} onClick={() => dispatch({ type: 'select', index: i })}>
              <span class="swatch" style={{ background: classColour(l.label, classes) }} />
              {i === state.selected && editingClass !== null ? (
                <ClassInput
                  value={editingClass}
                  typedAhead={pendingClass}
                  classes={classes}
                  maxLength={maxLength}
                  onDone={classDone}
                />
              ) : (
                <span class="label">{l.label}</span>
              )}
              <span class="hint">
                {l.box.map((v) => Math.round(v)).join(', ')}
                {l.score !== undefined ? ` · ${l.score.toFixed(2)}` : ''}
              </span>
            </li>
          ))}
          {state.boxes.length === 0 && <li class="hint">no boxes: saving says "nothing here"</li>}
        </ol>
        <h3>Classes</h3>
        <ol class="classes">
          {classes.slice(0, 9).map((c, i) => (
            <li>
              <kbd>{i + 1}</kbd> <span class="swatch" style={{ background: classColour(c, classes) }} /> {c}
            </li>
          ))}
        </ol>
        <h3>Keys</h3>
        <table class="keys">
          {SHORTCUTS.map((s) => (
            <tr>
              <td>
                <kbd>{s.keys}</kbd>
              </td>
              <td>{s.what}</td>
            </tr>
          ))}
        </table>
      </aside>
    </section>
  );
}

/**
 * The class of the selected box, typed: Enter keeps it, Escape leaves it as it was. Uncontrolled
 * (the page re-rendering must not reset what is being typed); letters typed before it had focus
 * arrive in `typedAhead` and replace the old name, as they would have in the field.
 */
function ClassInput({ value, typedAhead, classes, maxLength, onDone }: { value: string; typedAhead: { current: string }; classes: string[]; maxLength: number; onDone: (label: string | null) => void }) {
  const input = useRef<HTMLInputElement>(null);
  const done = useRef(false);
  const finish = (label: string | null) => {
    if (done.current) return;
    done.current = true;
    onDone(label);
  };
  useLayoutEffect(() => {
    const el = input.current!;
    el.focus();
    if (typedAhead.current) {
      el.value = typedAhead.current;
      typedAhead.current = '';
    } else {
      el.value = value;
      el.select();
    }
  }, []);
  return (
    <>
      <input
        ref={input}
        id="class-input"
        list="class-names"
        maxLength={maxLength}
        onKeyDown={(e) => {
          e.stopPropagation();
          if (e.key === 'Enter') finish((e.target as HTMLInputElement).value.trim() || null);
          if (e.key === 'Escape') finish(null);
        }}
        onBlur={() => finish(null)}
      />
      <datalist id="class-names">
        {classes.map((c) => (
          <option value={c} />
        ))}
      </datalist>
    </>
  );
}
