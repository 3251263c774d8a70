import { z } from 'zod';
import { KestrelError } from '../util/errors.js';
import { AREA_BINS, COUNT_EDGES, SCORE_BINS, type DriftHistograms } from './histograms.js';

/** The metadata key a model's drift baseline travels under (an ONNX metadata_props entry, JSON). */
export const DRIFT_BASELINE_KEY = 'kestrel.drift_baseline';

const counts = (bins: number) => z.array(z.number().int().nonnegative()).length(bins);

export const ClassHistogramsSchema = z.object({ score: counts(SCORE_BINS), area: counts(AREA_BINS) });

export const DriftHistogramsSchema = z.object({
  minScore: z.number().min(0).lt(1),
  frames: z.number().int().nonnegative(),
  count: counts(COUNT_EDGES.length),
  classes: z.record(z.string().min(1).max(256), ClassHistogramsSchema),
});

/** What a model (or an agent that learned it) expects to see: histograms over a validation set. */
export const DriftBaselineSchema = DriftHistogramsSchema.extend({
  schema: z.literal(1),
  /** Where it came from: `eval <dataset> <split>`, or `learned` on the device. */
  source: z.string().max(512),
  /** Epoch ms it was made. */
  at: z.number().int().nonnegative(),
});
export type DriftBaseline = z.infer<typeof DriftBaselineSchema>;

export function makeBaseline(h: DriftHistograms, source: string, at: number): DriftBaseline {
  return { schema: 1, source, at, minScore: h.minScore, frames: h.frames, count: [...h.count], classes: structuredClone(h.classes) };
}

/** Reads a baseline from its JSON text; the error names `where` (the model file, the state file) and the field. */
export function parseDriftBaseline(text: string, where: string): DriftBaseline {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new KestrelError('E_DRIFT_BASELINE', `${where}: the drift baseline is not valid JSON`);
  }
  const r = DriftBaselineSchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new KestrelError('E_DRIFT_BASELINE', `${where}: drift baseline ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  return r.data;
}
