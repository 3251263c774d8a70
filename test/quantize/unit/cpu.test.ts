import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeCpu } from '@kestrel/quantize/report/cpu';

test('int8 dot-product support is read from /proc/cpuinfo flags (x86 VNNI, ARM dotprod)', () => {
  assert.equal(describeCpu('processor\t: 0\nflags\t\t: fpu sse avx avx2 fma\n').int8DotProduct, false);
  const vnni = describeCpu('flags\t\t: avx2 avx512f avx512_vnni\n');
  assert.equal(vnni.int8DotProduct, true);
  assert.deepEqual(vnni.flags, ['avx512_vnni', 'avx512f', 'avx2']);
  assert.equal(describeCpu('Features\t: fp asimd asimddp\n').int8DotProduct, true);
});
