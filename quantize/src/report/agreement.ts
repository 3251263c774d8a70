// Does the INT8 model still find what the FP32 model finds? The FP32 model's detections on
// held-out images serve as ground truth, the INT8 model's as predictions, scored with the same
// mAP@0.5 as `kestrel eval`; and how far each raw output moved.
import { Detector } from '@kestrel/core/detect/detector';
import type { KestrelMetadata } from '@kestrel/core/model/metadata';
import type { Detection } from '@kestrel/core/detect/types';
import { loadImageInput } from '../calib/images.js';
import { evaluateDetections, greedyMatch, iouMatrix } from '@kestrel/core/eval/index';
import type { GroundTruthBox, ImageGroundTruth, ImagePredictions } from '@kestrel/core/eval/index';

export interface OutputDifference {
  name: string;
  maxAbs: number;
  meanAbs: number;
  /** Largest |value| of the FP32 output, to judge the difference against. */
  fp32MaxAbs: number;
}

export interface AgreementReport {
  images: number;
  /** mAP@0.5 of INT8 detections against FP32 detections; null when FP32 found nothing. */
  map50: number | null;
  /** FP32 detections at or above this score are the reference objects. */
  referenceScore: number;
  /** INT8 detections down to this score are ranked (AP needs the low-score tail too). */
  candidateScore: number;
  /**
   * FP32 detections scoring between this and referenceScore are borderline: an INT8 detection
   * on one counts neither way (the FP32 model itself is unsure, so ranking noise is not error).
   */
  borderlineScore: number;
  fp32Detections: number;
  int8Detections: number;
  /** Share of the FP32 objects that INT8 also reports at ≥ referenceScore (same class, IoU ≥ 0.5). */
  recallAtReference: number | null;
  outputs: OutputDifference[];
}

export interface AgreementOptions {
  threads?: number;
  overrides?: Partial<KestrelMetadata>;
  referenceScore?: number;
  candidateScore?: number;
  borderlineScore?: number;
  onImage?: (done: number) => void;
}

export async function measureAgreement(fp32Path: string, int8Path: string, images: readonly string[], options: AgreementOptions = {}): Promise<AgreementReport> {
  const referenceScore = options.referenceScore ?? 0.35;
  const candidateScore = options.candidateScore ?? 0.05;
  const borderlineScore = options.borderlineScore ?? 0.2;
  const load = { providers: ['cpu' as const], threads: options.threads, overrides: options.overrides };
  const fp32 = await Detector.load(fp32Path, load);
  const truths: ImageGroundTruth[] = [];
  const predictions: ImagePredictions[] = [];
  const diffs = new Map<string, { max: number; sum: number; count: number; ref: number }>();
  let int8: Detector | undefined;
  try {
    int8 = await Detector.load(int8Path, load);
    let done = 0;
    for (const image of images) {
      const { tensor, geometry } = await loadImageInput(image, fp32.meta.input);
      const a = await fp32.runTensor(tensor);
      const b = await int8.runTensor(tensor);
      for (const [name, out] of Object.entries(a)) {
        const other = b[name];
        if (!other) continue;
        const d = diffs.get(name) ?? { max: 0, sum: 0, count: 0, ref: 0 };
        for (let i = 0; i < out.data.length; i++) {
          const e = Math.abs(out.data[i] - other.data[i]);
          d.sum += e;
          if (e > d.max) d.max = e;
          const r = Math.abs(out.data[i]);
          if (r > d.ref) d.ref = r;
        }
        d.count += out.data.length;
        diffs.set(name, d);
      }
      const reference = fp32.decode(a, geometry, { scoreThreshold: Math.min(borderlineScore, referenceScore) });
      const candidates = int8.decode(b, geometry, { scoreThreshold: candidateScore });
      const asTruth = (d: Detection) => ({ classId: d.classId, box: d.box });
      truths.push({
        imageId: image,
        boxes: reference.filter((d) => d.score >= referenceScore).map(asTruth),
        ignore: reference.filter((d) => d.score < referenceScore).map(asTruth),
      });
      predictions.push({ imageId: image, detections: candidates });
      options.onImage?.(++done);
    }
  } finally {
    await fp32.close();
    await int8?.close();
  }
  const metrics = evaluateDetections(predictions, truths, { labels: fp32.meta.labels });
  const fp32Count = truths.reduce((s, t) => s + t.boxes.length, 0);
  const found = truths.reduce((s, t, i) => s + matchedTruths(t.boxes, predictions[i].detections.filter((d) => d.score >= referenceScore)), 0);
  return {
    images: images.length,
    map50: Number.isNaN(metrics.map50) ? null : metrics.map50,
    referenceScore,
    candidateScore,
    borderlineScore,
    fp32Detections: fp32Count,
    int8Detections: predictions.reduce((s, p) => s + p.detections.filter((d) => d.score >= referenceScore).length, 0),
    recallAtReference: fp32Count > 0 ? found / fp32Count : null,
    outputs: [...diffs].map(([name, d]) => ({ name, maxAbs: d.max, meanAbs: d.count ? d.sum / d.count : 0, fp32MaxAbs: d.ref })),
  };
}

/** How many truths a same-class detection matches at IoU ≥ 0.5 (one detection per truth). */
function matchedTruths(truths: GroundTruthBox[], detections: Detection[]): number {
  let matched = 0;
  for (const classId of new Set(truths.map((t) => t.classId))) {
    const ts = truths.filter((t) => t.classId === classId).map((t) => t.box);
    const ds = detections.filter((d) => d.classId === classId).sort((a, b) => b.score - a.score);
    matched += greedyMatch(iouMatrix(ds.map((d) => d.box), ts), ds.map((_, i) => i), ts.length, 0.5).filter(Boolean).length;
  }
  return matched;
}
