// The watchdog side of the sd_notify protocol, with a recording notifier and a scripted agent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '@kestrel/core';
import { SystemdService, watchdogPeriodMs } from '@kestrel/agent/systemd/service';
import { encodeNotification, type Notifier } from '@kestrel/agent/systemd/sd-notify';

const log = createLogger('watchdog-test', { level: 'silent' });

function recorder(): Notifier & { sent: Record<string, string | number>[] } {
  const sent: Record<string, string | number>[] = [];
  return { kind: 'socket', sent, notify: (f) => sent.push(f), close() {} };
}

test('WATCHDOG_USEC is read as systemd means it: for this process only', () => {
  assert.equal(watchdogPeriodMs({ WATCHDOG_USEC: '90000000' }, 7), 90_000);
  assert.equal(watchdogPeriodMs({ WATCHDOG_USEC: '90000000', WATCHDOG_PID: '7' }, 7), 90_000);
  assert.equal(watchdogPeriodMs({ WATCHDOG_USEC: '90000000', WATCHDOG_PID: '8' }, 7), undefined, 'meant for another process');
  assert.equal(watchdogPeriodMs({}, 7), undefined);
  assert.equal(watchdogPeriodMs({ WATCHDOG_USEC: 'soon' }, 7), undefined);
});

test('pings at half the period only while alive; STATUS tells why not; nothing after STOPPING=1', async () => {
  const n = recorder();
  let alive = true;
  const service = new SystemdService({ notifier: n, logger: log, env: { WATCHDOG_USEC: '200000' }, pid: 1, liveness: () => ({ alive, status: alive ? 'fine' : 'no frame processed for 9 s' }) });
  service.ready();
  assert.deepEqual(n.sent[0], { READY: 1, STATUS: 'fine' });
  await new Promise((r) => setTimeout(r, 330));
  const pings = () => n.sent.filter((f) => f.WATCHDOG === 1).length;
  assert.equal(pings(), 3, JSON.stringify(n.sent));
  alive = false;
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(pings(), 3, 'no ping while not alive');
  assert.ok(n.sent.some((f) => f.STATUS === 'no frame processed for 9 s'));
  alive = true;
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(pings(), 4, 'pings resume');
  service.stopping();
  const count = n.sent.length;
  service.status('anything');
  await new Promise((r) => setTimeout(r, 250));
  assert.deepEqual(n.sent.slice(count - 1), [{ STOPPING: 1, STATUS: 'stopping' }]);
  service.close();
});

test('a notification is KEY=value lines; a value cannot smuggle in another assignment', () => {
  assert.equal(encodeNotification({ READY: 1, STATUS: 'a\nWATCHDOG=1' }), 'READY=1\nSTATUS=a WATCHDOG=1');
});
