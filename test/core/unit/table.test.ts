// The plain-text tables commands print for people: widths, alignment, the rule under the header,
// and no trailing spaces.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { table } from '@kestrel/core/util/table';

test('columns are as wide as their widest cell, two spaces apart, text left and numbers right', () => {
  assert.equal(table(['name', 'n'], [['a', 1000], ['bbbbbb', 2]]), ['name    n', 'a       1000', 'bbbbbb     2'].join('\n'));
});

test('a rule of dashes goes under the header; lines end without spaces', () => {
  const out = table(['label', 'score', 'box'], [['person', '0.91', '1, 2, 3, 4'], ['cat', '0.5', '']], { rule: true });
  assert.equal(out, ['label   score  box', '------  -----  ----------', 'person  0.91   1, 2, 3, 4', 'cat     0.5'].join('\n'));
  for (const line of out.split('\n')) assert.equal(line, line.trimEnd());
});

test('alignment can be given per column', () => {
  const out = table(['', 'FP32', 'INT8'], [['size', '12.00 MB', '3.10 MB']], { align: ['left', 'right', 'right'], rule: true });
  assert.equal(out, ['          FP32     INT8', '----  --------  -------', 'size  12.00 MB  3.10 MB'].join('\n'));
});
