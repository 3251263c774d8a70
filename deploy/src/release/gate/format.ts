// The gate's figures as people read them, in `deploy release --gate` and `deploy status`.
import type { GateFigures, ReleaseGate } from './types.js';

const f3 = (v: number) => (Number.isFinite(v) ? v.toFixed(3) : '-');

function figures(g: GateFigures): string {
  return `mAP@0.5 ${f3(g.map50)}  mAP@.5:.95 ${f3(g.map50to95)}  P ${f3(g.precision)}  R ${f3(g.recall)}`;
}

/** One line on the set: what was scored, so two records can be told apart or matched. */
export function describeGateSet(gate: ReleaseGate): string {
  const s = gate.set;
  const sources = s.labelSources ? `, ${s.labelSources.reviewed} reviewed` : '';
  return `set ${s.path} (${s.format}, ${s.images} images, ${s.boxes} boxes${sources}, sha256 ${s.sha256.slice(0, 16)})`;
}

/** The verdict with both models' figures and the margin: the text of a refusal and of a pass. */
export function describeGate(gate: ReleaseGate, candidateId: string): string[] {
  const lines = [`gate: ${describeGateSet(gate)}`, `  candidate ${candidateId}: ${figures(gate.candidate)}`];
  if (gate.baseline) {
    lines.push(`  replaces  ${gate.baseline.id}: ${figures(gate.baseline)}`);
    const delta = gate.candidate.map50 - gate.baseline.map50;
    lines.push(`  mAP@0.5 ${delta >= 0 ? '+' : ''}${f3(delta)}, margin ${gate.margin}: ${gate.passed ? 'passed' : `refused (more than ${gate.margin} below ${gate.baseline.id})`}`);
  } else {
    lines.push('  no earlier release of this name: nothing to beat, passed');
  }
  return lines;
}

/** `deploy status`'s one line per gated release. */
export function gateSummary(gate: ReleaseGate): string {
  const vs = gate.baseline ? ` vs ${f3(gate.baseline.map50)} (${gate.baseline.id})` : '';
  return `gate ${gate.passed ? 'passed' : 'refused'}: mAP@0.5 ${f3(gate.candidate.map50)}${vs}, mAP@.5:.95 ${f3(gate.candidate.map50to95)}, P ${f3(gate.candidate.precision)} R ${f3(gate.candidate.recall)}, margin ${gate.margin}, ${gate.set.images} images sha256 ${gate.set.sha256.slice(0, 16)}`;
}
