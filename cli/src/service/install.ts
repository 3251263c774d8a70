import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KESTREL_VERSION, KestrelError } from '@kestrel/core';
import { renderAgentUnit } from './unit.js';

export const UNIT_NAME = 'kestrel-agent.service';
export const SYSTEM_UNIT_DIR = '/etc/systemd/system';

/** The shipped unit and the entry script of this install (same place from src/ and dist/). */
const TEMPLATE = fileURLToPath(new URL(`../../../systemd/${UNIT_NAME}`, import.meta.url));
const ENTRY = fileURLToPath(new URL('../../bin/kestrel.js', import.meta.url));

export interface InstallOptions {
  config: string;
  stateDir: string;
  user: string;
  /** Where the unit goes; anything but the system folder means "only write it" (tests, images). */
  unitDir?: string;
  /** Make the user when it does not exist (else that is an error that says how). */
  createUser: boolean;
  /** systemctl enable (and start, when `start`) after writing. */
  enable: boolean;
  start: boolean;
}

/** One thing the install does: said before it is done, or instead of it with --dry-run. */
export interface Step {
  say: string;
  run: () => void;
}

export interface Plan {
  unit: string;
  unitPath: string;
  steps: Step[];
  /** Things the operator should know that do not stop the install. */
  notes: string[];
}

export function planInstall(o: InstallOptions): Plan {
  if (!existsSync(TEMPLATE)) {
    throw new KestrelError('E_INSTALL', `the shipped unit ${TEMPLATE} is missing from this install (kestrel service install renders it)`);
  }
  const config = resolve(o.config);
  const stateDir = resolve(o.stateDir);
  const unitDir = resolve(o.unitDir ?? SYSTEM_UNIT_DIR);
  const system = unitDir === SYSTEM_UNIT_DIR;
  // realpath: a unit keeps working only with the real files, not an nvm or npx link that moves.
  const node = realpathSync(process.execPath);
  const entry = realpathSync(ENTRY);
  const unit = renderAgentUnit(readFileSync(TEMPLATE, 'utf8'), {
    node,
    entry,
    config,
    stateDir,
    user: o.user,
    version: KESTREL_VERSION,
    template: `systemd/${UNIT_NAME}`,
  });
  const unitPath = join(unitDir, UNIT_NAME);
  const steps: Step[] = [];
  const notes: string[] = [];

  if (o.user === 'root') {
    notes.push('the agent runs as root (--user root); the unit\'s sandboxing still applies');
  } else if (!userExists(o.user)) {
    const cmd = ['useradd', '--system', '--user-group', '--no-create-home', '--home-dir', stateDir, '--shell', '/usr/sbin/nologin', o.user];
    if (!o.createUser) {
      throw new KestrelError('E_INSTALL', `user "${o.user}" does not exist; create it with \`sudo ${cmd.join(' ')}\`, or leave out --no-create-user`);
    }
    steps.push({ say: `create system user ${o.user}: ${cmd.join(' ')}`, run: () => runCommand(cmd) });
  }

  if (!stateDir.startsWith('/var/lib/')) {
    // systemd makes StateDirectory= folders itself; any other state folder is made here, for the user alone.
    steps.push({
      say: `create ${stateDir} (mode 0700, owned by ${o.user})`,
      run: () => {
        mkdirSync(stateDir, { recursive: true, mode: 0o700 });
        const id = userIds(o.user);
        chownSync(stateDir, id.uid, id.gid);
        chmodSync(stateDir, 0o700);
      },
    });
  }

  steps.push({
    say: `write ${unitPath}`,
    run: () => {
      mkdirSync(unitDir, { recursive: true });
      writeFileSync(unitPath, unit.endsWith('\n') ? unit : `${unit}\n`, { mode: 0o644 });
    },
  });

  // PrivateTmp=yes gives the service its own empty /tmp: an install, config or state there is not seen.
  for (const [what, path] of [['node', node], ['kestrel install', entry], ['config', config], ['state folder', stateDir]] as const) {
    if (/^\/(var\/)?tmp\//.test(path)) notes.push(`the ${what} ${path} is under /tmp, which the service does not see (PrivateTmp=yes): put it elsewhere`);
  }
  if (!existsSync(config)) notes.push(`${config} does not exist yet: write it (kestrel config schema, README) and check it with \`kestrel config check ${config}\``);
  if (!system) {
    notes.push(`${unitDir} is not ${SYSTEM_UNIT_DIR}: the unit is only written, systemctl is not run`);
  } else if (o.enable) {
    steps.push({ say: 'systemctl daemon-reload', run: () => runCommand(['systemctl', 'daemon-reload']) });
    // Starting without a config would only fail (exit 2, not restarted): enable it, start it later.
    const start = o.start && existsSync(config);
    const enable = ['systemctl', 'enable', ...(start ? ['--now'] : []), UNIT_NAME];
    steps.push({ say: enable.join(' '), run: () => runCommand(enable) });
    if (o.start && !start) notes.push(`not started, as ${config} is missing: \`systemctl start kestrel-agent\` once it is in place`);
  }
  return { unit, unitPath, steps, notes };
}

export interface UninstallOptions {
  unitDir?: string;
}

/** Stops and removes the unit; the user, config and state folder stay (they hold the operator's data). */
export function planUninstall(o: UninstallOptions): Plan {
  const unitDir = resolve(o.unitDir ?? SYSTEM_UNIT_DIR);
  const unitPath = join(unitDir, UNIT_NAME);
  const system = unitDir === SYSTEM_UNIT_DIR;
  const steps: Step[] = [];
  if (system) steps.push({ say: `systemctl disable --now ${UNIT_NAME}`, run: () => runCommand(['systemctl', 'disable', '--now', UNIT_NAME]) });
  steps.push({ say: `remove ${unitPath}`, run: () => rmSync(unitPath, { force: true }) });
  if (system) steps.push({ say: 'systemctl daemon-reload', run: () => runCommand(['systemctl', 'daemon-reload']) });
  return { unit: '', unitPath, steps, notes: ['the user, the config and the state folder are kept'] };
}

/** getent sees every account NSS knows (LDAP, systemd-userdb); /etc/passwd where getent is absent. */
function userExists(name: string): boolean {
  return passwdEntry(name) !== undefined;
}

function userIds(name: string): { uid: number; gid: number } {
  const entry = passwdEntry(name);
  if (!entry) throw new KestrelError('E_INSTALL', `user "${name}" does not exist`);
  const [, , uid, gid] = entry.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

function passwdEntry(name: string): string | undefined {
  try {
    return execFileSync('getent', ['passwd', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return undefined; // getent ran: no such user
  }
  const passwd = existsSync('/etc/passwd') ? readFileSync('/etc/passwd', 'utf8') : '';
  return passwd.split('\n').find((l) => l.startsWith(`${name}:`));
}

function runCommand(cmd: string[]): void {
  try {
    execFileSync(cmd[0]!, cmd.slice(1), { stdio: ['ignore', 'inherit', 'pipe'] });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: Buffer };
    const why = e.code === 'ENOENT' ? `${cmd[0]} not found` : (e.stderr?.toString().trim() || e.message);
    const hint = process.getuid?.() !== 0 ? ' (installing a service needs root: run it with sudo)' : '';
    throw new KestrelError('E_INSTALL', `\`${cmd.join(' ')}\` failed: ${why}${hint}`);
  }
}

