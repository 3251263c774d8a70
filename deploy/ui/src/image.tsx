import { useEffect, useState } from 'preact/hooks';
import { imageUrl, type LabelBox, type Sample } from './api.js';

/** The sample's JPEG as an object URL, fetched with the token; revoked when no longer shown. */
export function useImage(path: string): { url?: string; error?: string } {
  const [state, setState] = useState<{ url?: string; error?: string }>({});
  useEffect(() => {
    let url: string | undefined;
    let live = true;
    imageUrl(path).then(
      (u) => {
        url = u;
        if (live) setState({ url: u });
        else URL.revokeObjectURL(u);
      },
      (err: Error) => live && setState({ error: err.message }),
    );
    return () => {
      live = false;
      if (url) URL.revokeObjectURL(url);
    };
  }, [path]);
  return state;
}

// Twelve colours far apart, for the classes in list order; a name outside the list gets a hashed hue.
const PALETTE = ['#4ea1ff', '#ff5c5c', '#3fd07a', '#ffb020', '#c77dff', '#2ad4d4', '#ff7ac6', '#b5e550', '#ff8a3d', '#8d9bff', '#f5e05a', '#7ee8c8'];

/** A colour per class: by its place in `classes` (the hub's list, or the labels seen, sorted), so one class looks the same on every sample. */
export function classColour(label: string, classes: readonly string[] = []): string {
  const i = classes.indexOf(label);
  if (i >= 0) return PALETTE[i % PALETTE.length];
  let h = 0x811c9dc5;
  for (let k = 0; k < label.length; k++) h = Math.imul(h ^ label.charCodeAt(k), 0x01000193) >>> 0;
  return `hsl(${h % 360}, 80%, 60%)`;
}

/** The classes a page colours by: the hub's list when it has one, else every label on these samples, sorted. */
export function classesOf(samples: readonly Pick<Sample, 'detections' | 'reviewed'>[], configured?: readonly string[], extra: readonly LabelBox[] = []): string[] {
  if (configured) return [...configured];
  const seen = new Set<string>();
  for (const s of samples) for (const l of [...s.detections, ...(s.reviewed?.labels ?? [])]) seen.add(l.label);
  for (const l of extra) seen.add(l.label);
  return [...seen].sort();
}

/** A thumbnail: the image with its boxes drawn in the frame's own pixel space. */
export function SampleThumb({ sample, labels, classes }: { sample: Sample; labels: LabelBox[]; classes: readonly string[] }) {
  const { url, error } = useImage(sample.image);
  const [fw, fh] = sample.frameSize;
  return (
    <div class="thumb" style={{ aspectRatio: `${fw} / ${fh}` }}>
      {url ? <img src={url} alt="" /> : <div class="placeholder">{error ?? 'loading…'}</div>}
      <svg viewBox={`0 0 ${fw} ${fh}`} preserveAspectRatio="none">
        {labels.map((l, i) => (
          <rect key={i} x={l.box[0]} y={l.box[1]} width={l.box[2] - l.box[0]} height={l.box[3] - l.box[1]} stroke={classColour(l.label, classes)} vector-effect="non-scaling-stroke" />
        ))}
      </svg>
    </div>
  );
}
