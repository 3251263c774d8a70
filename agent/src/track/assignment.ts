/**
 * Minimum-cost assignment (the Hungarian method, Jonker-Volgenant style with potentials), for the
 * tracker's association and the tracking metrics' IDF1. Written here rather than taken from a
 * package: it is some sixty lines with no dependency, the tracker calls it on every frame with a
 * few dozen rows at most, and both callers need rectangular matrices with forbidden pairs.
 *
 * `cost[i][j]` is the cost of giving column j to row i; `Infinity` forbids the pair. Returns, per
 * row, the column it gets or -1. Each column goes to at most one row, and the total cost of the
 * pairs is the least possible among assignments that use the most allowed pairs.
 */
export function minCostAssignment(cost: readonly (readonly number[])[]): number[] {
  const rows = cost.length;
  const cols = rows ? cost[0].length : 0;
  if (rows === 0 || cols === 0) return new Array(rows).fill(-1);
  // Square it: n × n with dummy rows/columns at cost 0. A forbidden pair costs more than any
  // two assignments of allowed pairs can differ by (n pairs of at most ±max each), so it is taken
  // only where no allowed pair is left for it (and dropped from the result).
  const n = Math.max(rows, cols);
  let finiteMax = 0;
  for (const row of cost) for (const v of row) if (Number.isFinite(v)) finiteMax = Math.max(finiteMax, Math.abs(v));
  const forbidden = 2 * (finiteMax + 1) * (n + 1);
  const at = (i: number, j: number): number => {
    if (i >= rows || j >= cols) return 0;
    const v = cost[i][j];
    return Number.isFinite(v) ? v : forbidden;
  };

  // u, v: potentials; p[j]: the row given column j (1-based, 0 = none); way: the augmenting path.
  const u = new Float64Array(n + 1);
  const v = new Float64Array(n + 1);
  const p = new Int32Array(n + 1);
  const way = new Int32Array(n + 1);
  const minv = new Float64Array(n + 1);
  const used = new Uint8Array(n + 1);
  for (let i = 1; i <= n; i++) {
    p[0] = i;
    let j0 = 0;
    minv.fill(Infinity);
    used.fill(0);
    do {
      used[j0] = 1;
      const i0 = p[j0];
      let delta = Infinity;
      let j1 = 0;
      for (let j = 1; j <= n; j++) {
        if (used[j]) continue;
        const cur = at(i0 - 1, j - 1) - u[i0] - v[j];
        if (cur < minv[j]) {
          minv[j] = cur;
          way[j] = j0;
        }
        if (minv[j] < delta) {
          delta = minv[j];
          j1 = j;
        }
      }
      for (let j = 0; j <= n; j++) {
        if (used[j]) {
          u[p[j]] += delta;
          v[j] -= delta;
        } else minv[j] -= delta;
      }
      j0 = j1;
    } while (p[j0] !== 0);
    do {
      const j1 = way[j0];
      p[j0] = p[j1];
      j0 = j1;
    } while (j0);
  }

  const result = new Array<number>(rows).fill(-1);
  for (let j = 1; j <= n; j++) {
    const i = p[j] - 1;
    if (i < rows && j - 1 < cols && Number.isFinite(cost[i][j - 1])) result[i] = j - 1;
  }
  return result;
}
