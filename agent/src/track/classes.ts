import type { Detection } from '@kestrel/core/detect/types';

/**
 * Labels one object may be given in turn. A detector sees one bag as a backpack, then a handbag,
 * then a suitcase (and often two of them in one frame, on the same box: NMS runs per class); a
 * van is a car or a truck. Matching only within a label made three tracks of one bag.
 */
export class ClassGroups {
  private readonly groupOf = new Map<string, number>();

  constructor(groups: readonly (readonly string[])[]) {
    groups.forEach((group, i) => group.forEach((label) => this.groupOf.set(label, i)));
  }

  /** Whether a track labelled `a` may take a detection labelled `b`. */
  compatible(a: string, b: string): boolean {
    if (a === b) return true;
    const ga = this.groupOf.get(a);
    return ga !== undefined && ga === this.groupOf.get(b);
  }
}

/**
 * A track's label, decided by its detections: each votes for its label with its score, so one
 * confident "backpack" outweighs a faint "suitcase", and a long run of one label wins. The label
 * can change while the track lives (the first sightings of a distant object are the least sure).
 */
export class LabelVote {
  private readonly votes = new Map<string, { classId: number; weight: number }>();
  private best: { label: string; classId: number; weight: number };

  constructor(first: Detection) {
    this.best = { label: first.label, classId: first.classId, weight: 0 };
    this.add(first);
  }

  add(det: Detection): void {
    const vote = this.votes.get(det.label) ?? { classId: det.classId, weight: 0 };
    vote.weight += det.score;
    this.votes.set(det.label, vote);
    // Ties keep the standing label, so the label does not flip on an even vote.
    if (vote.weight > this.best.weight) this.best = { label: det.label, classId: vote.classId, weight: vote.weight };
  }

  get label(): string {
    return this.best.label;
  }

  get classId(): number {
    return this.best.classId;
  }
}
