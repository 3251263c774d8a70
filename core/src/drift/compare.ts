import { jsDistance, psi } from './distance.js';
import { total, type DriftHistograms } from './histograms.js';
import type { DriftFigure } from '../mqtt/payloads.js';

export type { DriftFigure };

export interface DriftComparison {
  /** The largest PSI of the figures that had enough samples; 0 when none had. */
  psi: number;
  /** The largest JS distance of those figures. */
  js: number;
  /** The figure with the largest PSI. */
  worst?: DriftFigure;
  /** Every figure compared (enough samples on the window's side and the baseline's). */
  figures: DriftFigure[];
  /** Reported detections per frame: window and baseline. */
  perFrame: number;
  baselinePerFrame: number;
}

/**
 * Compares a window with a baseline: each class's confidence and area histograms whose window
 * holds at least `minCount` detections (and the baseline some of that class), and the per-frame
 * count over at least `minCount` frames. Too few samples say nothing (a PSI on 20 detections is
 * noise), so those figures are left out rather than reported as zero drift.
 */
export function compareHistograms(baseline: DriftHistograms, window: DriftHistograms, minCount: number): DriftComparison {
  const figures: DriftFigure[] = [];
  const add = (histogram: DriftFigure['histogram'], label: string | undefined, expected: number[], actual: number[]) => {
    const n = total(actual);
    if (n < minCount || total(expected) === 0) return;
    figures.push({ histogram, ...(label !== undefined && { label }), psi: psi(expected, actual), js: jsDistance(expected, actual), n });
  };
  add('count', undefined, baseline.count, window.count);
  for (const [label, c] of Object.entries(window.classes)) {
    const b = baseline.classes[label];
    if (!b) continue;
    add('score', label, b.score, c.score);
    add('area', label, b.area, c.area);
  }
  let worst: DriftFigure | undefined;
  for (const f of figures) if (!worst || f.psi > worst.psi) worst = f;
  return {
    psi: worst?.psi ?? 0,
    js: figures.reduce((m, f) => Math.max(m, f.js), 0),
    ...(worst && { worst }),
    figures,
    perFrame: perFrame(window),
    baselinePerFrame: perFrame(baseline),
  };
}

function perFrame(h: DriftHistograms): number {
  if (h.frames === 0) return 0;
  const detections = Object.values(h.classes).reduce((n, c) => n + total(c.score), 0);
  return detections / h.frames;
}
