// Operands of elementwise ops: the broadcast output shape and a shared layout for the operands.
import { constValue, shapeOf, type NodeContext, type TfValue } from '../context.js';
import { identityPerm, samePerm } from '../layout.js';

/** NumPy/TF broadcasting of two static shapes; undefined when they do not broadcast. */
export function broadcastShapes(a: readonly number[], b: readonly number[]): number[] | undefined {
  const rank = Math.max(a.length, b.length);
  const out = new Array<number>(rank);
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) return undefined;
    out[i] = da === 1 ? db : da;
  }
  return out;
}

export interface AlignedOperands {
  /** ONNX value names, in the order of the inputs. */
  names: string[];
  /** TF shape of the result. */
  shape: number[];
  /** Layout the result is held in. */
  perm: number[];
}

/**
 * Places the operands of an elementwise op in one layout. Full-rank runtime operands keep the
 * layout of the first one (so a bias Add after an NCHW-held Conv needs no Transpose); constants
 * are rank-aligned and permuted to match; anything else falls back to TF order, where ONNX
 * broadcasting equals TF broadcasting.
 */
export function alignOperands(ctx: NodeContext, operands: readonly TfValue[]): AlignedOperands {
  let shape: number[] = [];
  for (const v of operands) {
    const next = broadcastShapes(shape, shapeOf(v));
    if (!next) throw ctx.unsupported(`operand shapes [${operands.map((o) => shapeOf(o).join('x')).join('], [')}] do not broadcast`);
    shape = next;
  }
  const rank = shape.length;
  const dynamic = operands.filter((v) => v.kind === 'dynamic');
  const lead = dynamic.find((v) => v.shape.length === rank);
  const lowerRankDynamic = dynamic.some((v) => v.shape.length !== rank);
  const perm = lead && !lowerRankDynamic ? [...lead.perm] : identityPerm(rank);
  const names = operands.map((v) => {
    if (v.kind === 'dynamic') return ctx.held(v, v.shape.length === rank ? perm : identityPerm(v.shape.length));
    // A constant of all-1 dims broadcasts the same in any layout: leave it as it is.
    if (v.tensor.shape.every((d) => d === 1)) return ctx.held(v);
    if (samePerm(perm, identityPerm(rank))) return ctx.held(v);
    return ctx.held(constValue(ctx.rankAligned(v.tensor, rank)), perm);
  });
  return { names, shape, perm };
}
