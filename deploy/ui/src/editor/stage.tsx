import { useRef, useState } from 'preact/hooks';
import type { Box, LabelBox } from '../api.js';
import { classColour } from '../image.js';
import { clampBox, type EditorAction } from './state.js';

type Drag =
  | { kind: 'move'; start: [number, number]; orig: Box }
  | { kind: 'resize'; corner: number; orig: Box }
  | { kind: 'draw'; start: [number, number] };

/**
 * The image with its boxes, editable with the mouse: drag a box to move it, a corner handle to
 * resize it, and the empty image to draw a new one. Coordinates are the frame's pixels (the SVG's
 * viewBox), whatever size the image is shown at.
 */
export function Stage(props: { url?: string; frame: [number, number]; boxes: LabelBox[]; selected: number | null; dispatch: (a: EditorAction) => void; newLabel: string; classes: readonly string[] }) {
  const { frame, boxes, selected, dispatch } = props;
  const [fw, fh] = frame;
  const svg = useRef<SVGSVGElement>(null);
  const drag = useRef<Drag | null>(null);
  const [draft, setDraft] = useState<Box | null>(null);
  const handle = Math.max(4, fw / 90);
  const font = Math.max(10, fh / 28);

  const toFrame = (e: PointerEvent): [number, number] => {
    const r = svg.current!.getBoundingClientRect();
    return [((e.clientX - r.left) / r.width) * fw, ((e.clientY - r.top) / r.height) * fh];
  };
  const begin = (e: PointerEvent, d: Drag) => {
    e.preventDefault();
    e.stopPropagation();
    svg.current!.setPointerCapture(e.pointerId);
    drag.current = d;
    if (d.kind !== 'draw') dispatch({ type: 'checkpoint' });
  };
  const onMove = (e: PointerEvent) => {
    const d = drag.current;
    if (!d) return;
    const [x, y] = toFrame(e);
    if (d.kind === 'move') {
      const dx = x - d.start[0];
      const dy = y - d.start[1];
      dispatch({ type: 'setBox', box: [d.orig[0] + dx, d.orig[1] + dy, d.orig[2] + dx, d.orig[3] + dy], record: false });
    } else if (d.kind === 'resize') {
      const b = [...d.orig] as Box;
      // Corners 0..3: top-left, top-right, bottom-right, bottom-left; the opposite one stays put.
      if (d.corner === 0 || d.corner === 3) b[0] = x;
      else b[2] = x;
      if (d.corner === 0 || d.corner === 1) b[1] = y;
      else b[3] = y;
      dispatch({ type: 'setBox', box: b, record: false });
    } else {
      setDraft(clampBox([d.start[0], d.start[1], x, y], frame));
    }
  };
  const onUp = () => {
    const d = drag.current;
    drag.current = null;
    if (d?.kind === 'draw') {
      if (draft && draft[2] - draft[0] >= 3 && draft[3] - draft[1] >= 3) dispatch({ type: 'add', label: props.newLabel, box: draft });
      setDraft(null);
    }
  };

  return (
    <div class="stage" style={`aspect-ratio: ${fw} / ${fh}; --ar: ${fw / fh}`}>
      {props.url ? <img src={props.url} alt="sample" draggable={false} /> : <div class="placeholder">loading…</div>}
      <svg
        ref={svg}
        id="stage"
        viewBox={`0 0 ${fw} ${fh}`}
        preserveAspectRatio="none"
        onPointerDown={(e) => {
          dispatch({ type: 'select', index: null });
          begin(e, { kind: 'draw', start: toFrame(e) });
        }}
        onPointerMove={onMove}
        onPointerUp={onUp}
        onPointerCancel={onUp}
      >
        {boxes.map((l, i) => {
          const [x1, y1, x2, y2] = l.box;
          const colour = classColour(l.label, props.classes);
          const on = i === selected;
          return (
            <g key={i} class={on ? 'box on' : 'box'} data-index={i}>
              <rect
                x={x1}
                y={y1}
                width={x2 - x1}
                height={y2 - y1}
                stroke={colour}
                fill={on ? colour : 'transparent'}
                fill-opacity={on ? 0.15 : 0}
                stroke-width={on ? 3 : 2}
                vector-effect="non-scaling-stroke"
                onPointerDown={(e) => {
                  dispatch({ type: 'select', index: i });
                  begin(e, { kind: 'move', start: toFrame(e), orig: l.box });
                }}
              />
              <text x={x1 + 2} y={Math.max(font, y1 - 3)} font-size={font} fill={colour}>
                {i + 1} {l.label}
                {l.score !== undefined ? ` ${l.score.toFixed(2)}` : ''}
              </text>
              {on &&
                [
                  [x1, y1],
                  [x2, y1],
                  [x2, y2],
                  [x1, y2],
                ].map(([hx, hy], corner) => (
                  <rect
                    class="handle"
                    x={hx - handle / 2}
                    y={hy - handle / 2}
                    width={handle}
                    height={handle}
                    onPointerDown={(e) => begin(e, { kind: 'resize', corner, orig: l.box })}
                  />
                ))}
            </g>
          );
        })}
        {draft && <rect class="draft" x={draft[0]} y={draft[1]} width={draft[2] - draft[0]} height={draft[3] - draft[1]} vector-effect="non-scaling-stroke" />}
      </svg>
    </div>
  );
}
