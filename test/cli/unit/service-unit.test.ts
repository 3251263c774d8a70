// `kestrel service install` renders the shipped agent unit for one install: only the lines that
// depend on where and as whom it runs change; everything else is the shipped file, byte for byte.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderAgentUnit, type UnitSettings } from '@kestrel/cli/service/unit';
import { REPO_ROOT } from '../../support/images.js';

const TEMPLATE = readFileSync(join(REPO_ROOT, 'systemd/kestrel-agent.service'), 'utf8');
const BASE: UnitSettings = {
  node: '/usr/bin/node',
  entry: '/opt/kestrel/cli/bin/kestrel.js',
  config: '/etc/kestrel/agent.yaml',
  stateDir: '/var/lib/kestrel',
  user: 'kestrel',
  version: '9.9.9',
  template: 'systemd/kestrel-agent.service',
};
const values = (unit: string, key: string) => [...unit.matchAll(new RegExp(`^${key}=(.*)$`, 'gm'))].map((m) => m[1]!);
const settings = (unit: string) => unit.split('\n').filter((l) => /^[A-Z]\w*=/.test(l));

test('ExecStart runs this install by absolute paths, as the named user, with systemd making /var/lib/kestrel', () => {
  const unit = renderAgentUnit(TEMPLATE, BASE);
  assert.deepEqual(values(unit, 'ExecStart'), ['/usr/bin/node /opt/kestrel/cli/bin/kestrel.js agent --config /etc/kestrel/agent.yaml']);
  assert.deepEqual(values(unit, 'User'), ['kestrel']);
  assert.deepEqual(values(unit, 'DynamicUser'), []);
  assert.deepEqual(values(unit, 'StateDirectory'), ['kestrel']);
  assert.deepEqual(values(unit, 'ProtectHome'), ['yes']);
  assert.match(unit, /^# Kestrel edge agent, written by `kestrel service install` \(kestrel 9\.9\.9\)/);
  // Every other setting is the shipped one, in the shipped order.
  const changed = new Set(['ExecStart', 'DynamicUser', 'User']);
  const keep = (lines: string[]) => lines.filter((l) => !changed.has(l.split('=')[0]!));
  assert.deepEqual(keep(settings(unit)), keep(settings(TEMPLATE)));
});

test('a state folder outside /var/lib is opened for writing and handed over in $STATE_DIRECTORY', () => {
  const unit = renderAgentUnit(TEMPLATE, { ...BASE, stateDir: '/srv/kestrel/state' });
  assert.deepEqual(values(unit, 'StateDirectory'), []);
  assert.deepEqual(values(unit, 'StateDirectoryMode'), []);
  assert.deepEqual(values(unit, 'Environment'), ['NODE_ENV=production', 'KESTREL_LOG_FORMAT=json', 'STATE_DIRECTORY=/srv/kestrel/state']);
  assert.deepEqual(values(unit, 'ReadWritePaths'), ['/srv/kestrel/state']);
  assert.deepEqual(values(renderAgentUnit(TEMPLATE, { ...BASE, stateDir: '/var/lib/kestrel/cam1' }), 'StateDirectory'), ['kestrel/cam1']);
});

test('an install under a home folder (nvm, a checkout) gets ProtectHome=read-only, else the service could not see it', () => {
  for (const node of ['/home/pi/.nvm/versions/node/v20.19.0/bin/node', '/root/.nvm/node']) {
    assert.deepEqual(values(renderAgentUnit(TEMPLATE, { ...BASE, node }), 'ProtectHome'), ['read-only'], node);
  }
  assert.deepEqual(values(renderAgentUnit(TEMPLATE, { ...BASE, config: '/home/pi/agent.yaml' }), 'ProtectHome'), ['read-only']);
  assert.deepEqual(values(renderAgentUnit(TEMPLATE, { ...BASE, node: '/homestead/node' }), 'ProtectHome'), ['yes']);
});

test('% and $ in a path are escaped as systemd reads them; spaces, quotes and relative paths are refused by name', () => {
  const unit = renderAgentUnit(TEMPLATE, { ...BASE, config: '/etc/kestrel/100%$x.yaml', stateDir: '/srv/50%' });
  assert.deepEqual(values(unit, 'ExecStart'), ['/usr/bin/node /opt/kestrel/cli/bin/kestrel.js agent --config /etc/kestrel/100%%$$x.yaml']);
  assert.deepEqual(values(unit, 'ReadWritePaths'), ['/srv/50%%']);
  assert.throws(() => renderAgentUnit(TEMPLATE, { ...BASE, config: '/etc/my kestrel/agent.yaml' }), /--config path "\/etc\/my kestrel\/agent.yaml" has a space/);
  assert.throws(() => renderAgentUnit(TEMPLATE, { ...BASE, entry: '/opt/"k"/kestrel.js' }), /kestrel entry path .* quote/);
  assert.throws(() => renderAgentUnit(TEMPLATE, { ...BASE, stateDir: 'state' }), /--state-dir must be an absolute path/);
  assert.throws(() => renderAgentUnit(TEMPLATE, { ...BASE, user: 'bad user' }), /--user must be a user name/);
});

test('a template without the lines the installer rewrites is an error, not a unit that runs something else', () => {
  assert.throws(() => renderAgentUnit(TEMPLATE.replace(/^DynamicUser=yes\n/m, ''), BASE), /0 DynamicUser= lines/);
  assert.throws(() => renderAgentUnit(`${TEMPLATE}\nExecStart=/bin/true\n`, BASE), /2 ExecStart= lines/);
});
