// The `sampling` section of the agent config: defaults, per-camera overrides, and errors that
// name the path.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkConfig, formatIssue } from '@kestrel/config';
import { cameraStrategyConfigs } from '@kestrel/agent/sampling/index';

function errors(yaml: string): string[] {
  const result = checkConfig({ text: yaml }, {}, '/srv/kestrel');
  return result.ok ? [] : result.errors.map(formatIssue);
}

test('sampling defaults: off, the buffer under stateDir, uncertainty on with quotas, upload none', () => {
  const result = checkConfig({ text: 'stateDir: /var/lib/kestrel\n' }, {}, '/srv');
  assert.ok(result.ok);
  const s = result.config.sampling;
  assert.equal(s.enabled, false);
  assert.equal(s.path, '/var/lib/kestrel/samples');
  assert.equal(s.budget.maxBytes, 256 * 2 ** 20);
  assert.deepEqual(s.strategies.uncertainty, { enabled: true, low: 0.3, high: 0.6, quota: { perMinute: 2, perHour: 30, perDay: 300 } });
  assert.equal(s.strategies.disagreement.enabled, false);
  assert.equal(s.upload.transport, 'none');
  assert.deepEqual(s.upload.backoff, { minMs: 1000, maxMs: 300_000 });
});

test('a camera override changes only the fields it names', () => {
  const result = checkConfig({ text: 'sampling:\n  cameras:\n    yard:\n      strategies:\n        uncertainty: { high: 0.8 }\n        rareClass: { enabled: true, minCount: 5 }\n' }, {}, '/srv');
  assert.ok(result.ok, JSON.stringify(!result.ok && result.errors));
  const yard = cameraStrategyConfigs(result.config.sampling, 'yard');
  assert.deepEqual(yard.uncertainty, { enabled: true, low: 0.3, high: 0.8, quota: { perMinute: 2, perHour: 30, perDay: 300 } });
  assert.equal(yard.rareClass.enabled, true);
  assert.equal(yard.rareClass.minCount, 5);
  assert.equal(yard.rareClass.windowHours, 24, 'the rest from the defaults');
  assert.deepEqual(cameraStrategyConfigs(result.config.sampling, 'door'), result.config.sampling.strategies);
});

test('sampling mistakes are reported with their path', () => {
  assert.deepEqual(errors('sampling:\n  upload: { transport: http }\n'), [
    'sampling.upload.url: is required when transport is http (the hub\'s URL) (line 2)',
    'sampling.upload.token: is required when transport is http (issue one with: kestrel hub device add <device id>) (line 2)',
  ]);
  assert.deepEqual(errors('sampling:\n  cameras:\n    yard:\n      strategies:\n        uncertainty: { low: 0.7 }\n'), [
    'sampling.cameras.yard.strategies.uncertainty.low: must be below high (0.6) (line 5)',
  ]);
  assert.deepEqual(errors('sampling:\n  strategies:\n    rareClas: { enabled: true }\n'), ['sampling.strategies.rareClas: unknown key "rareClas" (did you mean "rareClass"?) (line 3)']);
  assert.deepEqual(errors('sampling:\n  budget: { maxBytes: lots }\n'), ['sampling.budget.maxBytes: must be a number of bytes or a size such as "64MiB" or "1GB" (line 2)']);
  assert.deepEqual(errors('sampling:\n  upload: { transport: http, url: ftp://hub, token: x }\n'), [
    'sampling.upload.url: must be the hub\'s http:// or https:// URL, e.g. https://hub.example.net:8443 (line 2)',
  ]);
  assert.deepEqual(errors('sampling:\n  quota: { perHour: -1 }\n'), ['sampling.quota.perHour: must be >= 0 (line 2)']);
});

test('the hub token is never shown in an error message', () => {
  const text = errors('sampling:\n  upload: { transport: http, url: "http://hub:8470", token: 12345 }\n').join('\n');
  assert.match(text, /sampling\.upload\.token: expected a string, got a number/);
  assert.doesNotMatch(text, /12345/);
});
