import {
  addFrame, compareHistograms, emptyHistograms, makeBaseline, mergeHistograms, total,
  type BinnedDetection, type CameraDrift, type DriftBaseline, type DriftHistograms,
} from '@kestrel/core';
import type { DriftConfig } from '@kestrel/config';

/** Where a camera's baseline comes from, and until when it is still being learned. */
export type BaselineSource = { kind: 'model' | 'learned'; baseline: DriftBaseline } | { kind: 'learning'; until: number; minScore: number } | { kind: 'none' };

/** Classes whose window histograms travel in a comparison (the most detected first): bytes, not a dump. */
const WINDOW_CLASSES = 8;
/** Figures per comparison in a message, the largest PSI first. */
const MAX_FIGURES = 32;

/**
 * One camera's drift: a window of histograms filled from each processed frame, compared with the
 * baseline every interval. A histogram with fewer than `minCount` samples keeps accumulating into
 * the next interval (its PSI would be noise), so a quiet camera is judged over a longer window
 * instead of never; the ones that were compared start again. Whether the camera is drifted
 * follows the largest PSI of the latest figures: above the threshold raises the alert, at or
 * below clears it. Pure state: time comes in as arguments, nothing is published here.
 */
export class CameraDriftState {
  private window: DriftHistograms;
  /** Learning: everything seen since the model loaded. */
  private learning?: DriftHistograms;
  private drifted = false;
  private since?: number;
  private latest?: CameraDrift;

  constructor(
    private source: BaselineSource,
    private readonly config: Pick<DriftConfig, 'threshold' | 'minCount'>,
  ) {
    this.window = emptyHistograms(minScoreOf(source));
    if (source.kind === 'learning') this.learning = emptyHistograms(source.minScore);
  }

  get baselineKind(): BaselineSource['kind'] {
    return this.source.kind;
  }

  get isDrifted(): boolean {
    return this.drifted;
  }

  observe(detections: readonly BinnedDetection[], frameArea: number): void {
    if (this.source.kind === 'none') return;
    if (this.learning) addFrame(this.learning, detections, frameArea);
    else addFrame(this.window, detections, frameArea);
  }

  /**
   * The interval's end. While learning: once `until` has passed, the learned histograms become
   * the baseline (returned as `learned`, for the caller to keep) if they hold enough frames,
   * else learning goes on. With a baseline: the comparison, or undefined when nothing had enough samples.
   */
  tick(now: number): { comparison?: CameraDrift & { since: number; changed: boolean }; learned?: DriftBaseline } {
    if (this.source.kind === 'none') return {};
    if (this.source.kind === 'learning') {
      if (now < this.source.until || !this.learning || this.learning.frames < this.config.minCount) return {};
      const learned = makeBaseline(this.learning, 'learned', now);
      this.source = { kind: 'learned', baseline: learned };
      this.learning = undefined;
      this.window = emptyHistograms(learned.minScore);
      return { learned };
    }
    const baseline = this.source.baseline;
    const c = compareHistograms(baseline, this.window, this.config.minCount);
    if (c.figures.length === 0) return {};
    const drifted = c.psi > this.config.threshold;
    const changed = drifted !== this.drifted || this.since === undefined;
    if (changed) this.since = now;
    this.drifted = drifted;
    const compared = this.window;
    this.window = this.remainder(compared, c.figures);
    this.latest = {
      at: now,
      drifted,
      psi: round(c.psi),
      js: round(c.js),
      threshold: this.config.threshold,
      ...(c.worst && { worst: roundFigure(c.worst) }),
      figures: [...c.figures].sort((a, b) => b.psi - a.psi).slice(0, MAX_FIGURES).map(roundFigure),
      perFrame: round(c.perFrame),
      baselinePerFrame: round(c.baselinePerFrame),
      baseline: this.source.kind,
      window: topClasses(compared, WINDOW_CLASSES),
    };
    return { comparison: { ...this.latest, since: this.since!, changed } };
  }

  /** The latest comparison, for the stats. */
  latestComparison(): CameraDrift | undefined {
    return this.latest;
  }

  /** What carries over: the histograms that were too thin to compare; the compared ones start again. */
  private remainder(compared: DriftHistograms, figures: readonly { histogram: string; label?: string }[]): DriftHistograms {
    const next = emptyHistograms(compared.minScore);
    const countCompared = figures.some((f) => f.histogram === 'count');
    if (!countCompared) {
      next.frames = compared.frames;
      next.count = [...compared.count];
    }
    const comparedLabels = new Set(figures.filter((f) => f.label !== undefined).map((f) => f.label!));
    for (const [label, c] of Object.entries(compared.classes)) {
      if (!comparedLabels.has(label)) next.classes[label] = { score: [...c.score], area: [...c.area] };
    }
    return next;
  }
}

function minScoreOf(source: BaselineSource): number {
  if (source.kind === 'model' || source.kind === 'learned') return source.baseline.minScore;
  if (source.kind === 'learning') return source.minScore;
  return 0;
}

function topClasses(h: DriftHistograms, n: number): DriftHistograms {
  const out = emptyHistograms(h.minScore);
  mergeHistograms(out, { ...h, classes: {} });
  const ranked = Object.entries(h.classes).sort(([, a], [, b]) => total(b.score) - total(a.score)).slice(0, n);
  for (const [label, c] of ranked) out.classes[label] = { score: [...c.score], area: [...c.area] };
  return out;
}

function round(v: number): number {
  return Math.round(v * 10_000) / 10_000;
}

function roundFigure<F extends { psi: number; js: number }>(f: F): F {
  return { ...f, psi: round(f.psi), js: Math.min(1, round(f.js)) };
}
