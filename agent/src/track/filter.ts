import { boxArea } from '@kestrel/core/detect/box';
import type { Detection } from '@kestrel/core/detect/types';
import { KestrelError } from '@kestrel/core/util/errors';

export interface DetectionFilterOptions {
  /** Labels to keep (`person`, `car`, ...); undefined keeps every class. */
  classes?: string[];
  /** Drop detections below this score before tracking: the tracker's lowScore, below which nothing uses them. Default 0. */
  lowScore?: number;
  /** Drop boxes smaller than this many source pixels². Default 0. */
  minArea?: number;
  /** Drop boxes larger than this many source pixels² (a detector that sees the whole picture). */
  maxArea?: number;
}

/** Per-camera class, score and size filters, on boxes in source pixels. */
export class DetectionFilter {
  private readonly classes: Set<string> | undefined;
  private readonly lowScore: number;
  private readonly minArea: number;
  private readonly maxArea: number;
  private dropped = 0;

  constructor(options: DetectionFilterOptions = {}) {
    validateFilter(options);
    this.classes = options.classes ? new Set(options.classes) : undefined;
    this.lowScore = options.lowScore ?? 0;
    this.minArea = options.minArea ?? 0;
    this.maxArea = options.maxArea ?? Infinity;
  }

  apply(detections: readonly Detection[]): Detection[] {
    const kept = detections.filter((d) => this.keeps(d));
    this.dropped += detections.length - kept.length;
    return kept;
  }

  keeps(d: Detection): boolean {
    if (this.classes && !this.classes.has(d.label)) return false;
    if (d.score < this.lowScore) return false;
    const area = boxArea(d.box);
    return area >= this.minArea && area <= this.maxArea;
  }

  /** Detections filtered out so far. */
  get droppedCount(): number {
    return this.dropped;
  }
}

function validateFilter(o: DetectionFilterOptions): void {
  if (o.classes !== undefined && (!Array.isArray(o.classes) || !o.classes.every((c) => typeof c === 'string' && c !== ''))) {
    throw new KestrelError('E_TRACK_OPTIONS', `classes: expected a list of labels such as ["person", "car"], got ${JSON.stringify(o.classes)}`);
  }
  if (o.classes?.length === 0) throw new KestrelError('E_TRACK_OPTIONS', 'classes: an empty list would drop every detection; leave it out to keep every class');
  if (o.lowScore !== undefined && !(o.lowScore >= 0 && o.lowScore <= 1)) throw new KestrelError('E_TRACK_OPTIONS', `lowScore: must be within 0-1, got ${o.lowScore}`);
  if (o.minArea !== undefined && !(o.minArea >= 0)) throw new KestrelError('E_TRACK_OPTIONS', `minArea: must be ≥ 0 (source pixels²), got ${o.minArea}`);
  if (o.maxArea !== undefined && !(o.maxArea > (o.minArea ?? 0))) throw new KestrelError('E_TRACK_OPTIONS', `maxArea: must be > minArea, got ${o.maxArea}`);
}
