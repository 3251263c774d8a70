// The drift baseline a release carries: the same histograms the agent fills from live frames
// (core/src/drift), filled here from the model's predictions on a validation set, and written into
// a copy of the ONNX model as `kestrel.drift_baseline`.
import { addFrame, emptyHistograms, makeBaseline, type DriftBaseline } from '@kestrel/core/drift/index';
import { readMetadata, withDriftBaseline, writeMetadata } from '@kestrel/core/model/metadata';
import { readModel, writeModel } from '@kestrel/core/onnx/io';
import type { ImagePredictions } from '@kestrel/core/eval/types';
import type { DatasetItem } from '../data/types.js';
import { imageSize } from '../data/image.js';

/**
 * Histograms of the predictions at `minScore` and up (the agent counts what a camera reports:
 * `filters.minScore`, 0.35 by default), boxes as a share of each image's area.
 */
export async function driftBaselineOf(predictions: readonly ImagePredictions[], items: readonly DatasetItem[], minScore: number, source: string, at = Date.now()): Promise<DriftBaseline> {
  const byId = new Map(items.map((item) => [item.id, item]));
  const h = emptyHistograms(minScore);
  for (const p of predictions) {
    const item = byId.get(p.imageId);
    if (!item) continue;
    const { width, height } = await imageSize(item.imagePath);
    addFrame(h, p.detections, width * height);
  }
  return makeBaseline(h, source, at);
}

/** Writes `model` with `baseline` in its metadata to `out` (every other prop and the graph unchanged). */
export async function writeModelWithBaseline(model: string, out: string, baseline: DriftBaseline): Promise<void> {
  const proto = await readModel(model);
  writeMetadata(proto, withDriftBaseline(readMetadata(proto, {}, model), baseline));
  await writeModel(proto, out);
}
