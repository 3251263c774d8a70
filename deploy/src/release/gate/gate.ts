// The release gate: a candidate is scored beside the release it would replace on one held-out set,
// and passes unless its mAP@0.5 falls more than `margin` below that release's.
import { KestrelError } from '@kestrel/core';
import type { ReleaseRecord } from '../release-service.js';
import type { BlobStore } from '../ports.js';
import { scoreModel } from './score.js';
import type { GateSet, ReleaseGate } from './types.js';

/** mAP@0.5 may drop by this much (absolute) before a release is refused: about the noise of a few hundred reviewed images. */
export const DEFAULT_GATE_MARGIN = 0.01;

export function parseGateMargin(value: string): number {
  const margin = Number(value);
  if (value.trim() === '' || !Number.isFinite(margin) || margin < 0 || margin > 1) {
    throw new KestrelError('E_USAGE', `--gate-margin must be a number from 0 to 1 (an absolute mAP@0.5 drop), got "${value}"`);
  }
  return margin;
}

/** `against` when given, else the newest release of `name`; undefined for a name's first release. */
export function pickBaseline(releases: readonly ReleaseRecord[], name: string, against?: string): ReleaseRecord | undefined {
  if (against !== undefined) {
    const record = releases.find((r) => r.id === against);
    if (!record) throw new KestrelError('E_RELEASE', `--against ${against}: no such release (releases: ${releases.map((r) => r.id).join(', ') || 'none'})`);
    return record;
  }
  return [...releases].filter((r) => r.name === name).sort((a, b) => b.release - a.release)[0];
}

export interface GateInput {
  candidate: { bytes: Uint8Array; id: string };
  baseline?: ReleaseRecord;
  set: GateSet;
  margin: number;
  blobs: BlobStore;
  now?: () => number;
}

export async function runGate(input: GateInput): Promise<ReleaseGate> {
  const { set, margin } = input;
  // The baseline's artifact is read first: a missing blob should fail before minutes of scoring.
  const baselineBytes = input.baseline ? await input.blobs.get(input.baseline.artifactKey) : undefined;
  if (input.baseline && !baselineBytes) throw new KestrelError('E_RELEASE', `release ${input.baseline.id}: its artifact ${input.baseline.artifactKey} is missing from the blob store`);
  const candidate = await scoreModel(input.candidate.bytes, `candidate ${input.candidate.id}`, set);
  const baseline = input.baseline && baselineBytes ? { id: input.baseline.id, ...(await scoreModel(baselineBytes, `release ${input.baseline.id}`, set)) } : undefined;
  // A tiny tolerance: the same model scored twice must pass at margin 0 despite float noise.
  const passed = !baseline || candidate.map50 >= baseline.map50 - margin - 1e-9;
  return {
    metric: 'map50',
    margin,
    passed,
    set: {
      path: set.root,
      format: set.format,
      images: set.images.length,
      boxes: set.images.reduce((n, i) => n + i.boxes.length, 0),
      classes: set.classes,
      sha256: set.sha256,
      ...(set.labelSources ? { labelSources: set.labelSources } : {}),
    },
    candidate,
    ...(baseline ? { baseline } : {}),
    evaluatedAt: (input.now ?? Date.now)(),
  };
}
