// The pictures in a run folder: training curves, PR curves, the confusion matrix and sample
// predictions on validation images (predictions solid, ground truth dashed).
import type { DetectionMetrics, ImageGroundTruth, ImagePredictions } from '@kestrel/core/eval/types';
import { DEFAULT_PAD_VALUE } from '@kestrel/core/model/metadata';
import type { EpochMetrics } from '../train/run-folder.js';
import type { DatasetItem } from '../data/types.js';
import { classColour, decodeImage, gridPng, type DrawnBox } from '../data/image.js';
import { letterboxTransform } from '../data/augment/geometry.js';
import sharp from 'sharp';
import { chartGrid, confusionSvg, svgToPng } from './svg-charts.js';
import { prCurves } from './pr-curve.js';

export async function curvesPng(history: readonly EpochMetrics[]): Promise<Buffer> {
  const at = (f: (m: EpochMetrics) => number): Array<[number, number]> => history.map((m) => [m.epoch + 1, f(m)]);
  return svgToPng(chartGrid([
    { title: 'training loss', xLabel: 'epoch', series: [{ name: 'total', points: at((m) => m.trainLoss) }, { name: 'class (QFL)', points: at((m) => m.clsLoss) }, { name: 'box (GIoU)', points: at((m) => m.boxLoss) }, ...(history.some((m) => m.dflLoss > 0) ? [{ name: 'box sides (DFL)', points: at((m) => m.dflLoss) }] : [])] },
    { title: 'validation mAP', xLabel: 'epoch', yMin: 0, yMax: 1, series: [{ name: 'mAP@0.5', points: at((m) => m.valMap50) }, { name: 'mAP@0.5:0.95', points: at((m) => m.valMap50to95) }] },
    { title: 'precision / recall (best F1)', xLabel: 'epoch', yMin: 0, yMax: 1, series: [{ name: 'precision', points: at((m) => m.precision) }, { name: 'recall', points: at((m) => m.recall) }, { name: 'F1', points: at((m) => m.f1) }] },
    { title: 'learning rate', xLabel: 'epoch', series: [{ name: 'lr', points: at((m) => m.lr) }] },
  ]));
}

export async function prCurvePng(predictions: readonly ImagePredictions[], truths: readonly ImageGroundTruth[], labels: string[], metrics: DetectionMetrics): Promise<Buffer> {
  const curves = prCurves(predictions, truths, labels.length);
  const ap = new Map(metrics.perClass.map((c) => [c.classId, c.ap50]));
  return svgToPng(chartGrid([{
    title: `precision–recall at IoU 0.5 (mAP@0.5 ${metrics.map50.toFixed(3)})`,
    xLabel: 'recall',
    xMin: 0, xMax: 1, yMin: 0, yMax: 1,
    series: curves.map((c) => ({ name: `${labels[c.classId]} ${(ap.get(c.classId) ?? 0).toFixed(2)}`, points: c.points, colour: classColour(c.classId) })),
  }], 1, 560, 420));
}

export async function confusionPng(metrics: DetectionMetrics, labels: string[]): Promise<Buffer> {
  return svgToPng(confusionSvg(metrics.confusion.matrix, labels));
}

/** Up to `count` validation images letterboxed to `tile` px, predictions above `threshold` drawn. */
export async function samplePredictionsPng(items: readonly DatasetItem[], predictions: readonly ImagePredictions[], truths: readonly ImageGroundTruth[], labels: string[], threshold: number, count = 8, tile = 320): Promise<Buffer> {
  const predsById = new Map(predictions.map((p) => [p.imageId, p.detections]));
  const truthsById = new Map(truths.map((t) => [t.imageId, t.boxes]));
  const tiles = [];
  for (const item of items.slice(0, count)) {
    const img = await decodeImage(item.imagePath);
    const t = letterboxTransform(img.width, img.height, tile);
    const w = Math.round(img.width * t.sx), h = Math.round(img.height * t.sy);
    const { data } = await sharp(Buffer.from(img.data), { raw: { width: img.width, height: img.height, channels: 3 } })
      .resize(w, h, { fit: 'fill' })
      .extend({ left: Math.round(t.tx), top: Math.round(t.ty), right: tile - w - Math.round(t.tx), bottom: tile - h - Math.round(t.ty), background: { r: DEFAULT_PAD_VALUE, g: DEFAULT_PAD_VALUE, b: DEFAULT_PAD_VALUE } })
      .raw()
      .toBuffer({ resolveWithObject: true });
    const map = (b: [number, number, number, number]): [number, number, number, number] => [b[0] * t.sx + Math.round(t.tx), b[1] * t.sy + Math.round(t.ty), b[2] * t.sx + Math.round(t.tx), b[3] * t.sy + Math.round(t.ty)];
    const boxes: DrawnBox[] = [
      ...(truthsById.get(item.id) ?? []).map((b) => ({ box: map(b.box), label: '', colour: '#ffffff', dashed: true })),
      ...(predsById.get(item.id) ?? []).filter((d) => d.score >= threshold).map((d) => ({ box: map(d.box), label: `${labels[d.classId]} ${d.score.toFixed(2)}`, colour: classColour(d.classId) })),
    ];
    tiles.push({ image: { width: tile, height: tile, data: new Uint8Array(data) }, boxes });
  }
  return gridPng(tiles, Math.min(4, tiles.length));
}
