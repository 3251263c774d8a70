// Scoring one model on a gate set with the Detector devices run and core's COCO metrics, the
// same way `kestrel eval` scores an ONNX model (its post-processing thresholds included).
import { Detector, evaluateDetections, KestrelError, type ImageGroundTruth, type ImagePredictions } from '@kestrel/core';
import type { GateFigures, GateSet } from './types.js';

/** `kestrel eval`'s post-processing: every detection a mAP curve needs, not the agent's event threshold. */
const EVAL_DETECT = { scoreThreshold: 0.01, iouThreshold: 0.6, maxDetections: 100 } as const;

/** Throws unless the model's labels include every class of the set (names, not ids, are compared). */
export function checkLabels(labels: readonly string[], set: GateSet, who: string): void {
  const missing = set.classes.filter((c) => !labels.includes(c));
  if (missing.length > 0) {
    throw new KestrelError('E_GATE_LABELS', `${who} does not know the gate set's class${missing.length === 1 ? '' : 'es'} ${missing.join(', ')} (its labels: ${labels.join(', ')}); gate on a set of classes both models know`);
  }
}

export async function scoreModel(bytes: Uint8Array, who: string, set: GateSet): Promise<GateFigures> {
  const detector = await Detector.fromBytes(bytes, who);
  try {
    checkLabels(detector.meta.labels, set, who);
    // Detections are put in the set's class ids by name, so models with different label lists compare alike.
    const toSet = detector.meta.labels.map((l) => set.classes.indexOf(l));
    const predictions: ImagePredictions[] = [];
    for (const image of set.images) {
      const r = await detector.detect(image.path, EVAL_DETECT);
      // Normalised like the truths: IoU does not change when both axes are scaled.
      const detections = r.detections
        .filter((d) => toSet[d.classId] >= 0)
        .map((d) => ({ ...d, classId: toSet[d.classId], box: [d.box[0] / r.width, d.box[1] / r.height, d.box[2] / r.width, d.box[3] / r.height] as typeof d.box }));
      predictions.push({ imageId: image.id, detections });
    }
    const truths: ImageGroundTruth[] = set.images.map((i) => ({ imageId: i.id, boxes: i.boxes, ...(i.ignore.length ? { ignore: i.ignore } : {}) }));
    const m = evaluateDetections(predictions, truths, { labels: set.classes });
    return { map50: m.map50, map50to95: m.map50to95, precision: m.precision, recall: m.recall };
  } finally {
    await detector.close();
  }
}
