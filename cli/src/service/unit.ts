import { KestrelError } from '@kestrel/core';

/** What one install of the agent puts into its unit: where it runs from, as whom, with which files. */
export interface UnitSettings {
  /** Absolute path of the node binary that runs the agent. */
  node: string;
  /** Absolute path of this install's `kestrel` entry script (cli/bin/kestrel.js). */
  entry: string;
  /** Absolute path of the agent's YAML config. */
  config: string;
  /** Absolute path of the agent's state folder (outbox, samples, models). */
  stateDir: string;
  /** The account the service runs as; `root` only when asked for by name. */
  user: string;
  /** Written into the header, so a unit on a device says which release wrote it. */
  version: string;
  /** Where the unit was rendered from, for the header. */
  template: string;
}

const STATE_ROOT = '/var/lib/';
// systemd hides these with ProtectHome=yes; an install or config inside them needs read-only.
const HOME_ROOTS = ['/home/', '/root/', '/run/user/'];

/**
 * The shipped unit (systemd/kestrel-agent.service), made to run this install: its hardening,
 * watchdog and restart policy stay exactly as shipped (they are tested there), and only the lines
 * that depend on where and as whom it runs are rewritten. A template that lacks one of those lines
 * is an error, not a unit that silently runs something else.
 */
export function renderAgentUnit(template: string, s: UnitSettings): string {
  for (const [what, path] of [['node', s.node], ['kestrel entry', s.entry], ['--config', s.config], ['--state-dir', s.stateDir]] as const) {
    checkPath(what, path);
  }
  if (!/^[a-z_][a-z0-9_-]*\$?$/i.test(s.user) || s.user.length > 31) {
    throw new KestrelError('E_USAGE', `--user must be a user name (letters, digits, _ and -), got "${s.user}"`);
  }
  const lines = template.split('\n');
  const body = lines.slice(lines.findIndex((l) => !l.startsWith('#')));
  const out: string[] = [...header(s), ...body];

  replaceLine(out, 'ExecStart', [`ExecStart=${[s.node, s.entry, 'agent', '--config', s.config].map(execArg).join(' ')}`]);
  // A named account rather than DynamicUser: files the operator puts in place (a model, a USB
  // camera's group) keep one owner across reinstalls, and the state folder is plainly owned.
  replaceLine(out, 'DynamicUser', [`User=${s.user}`]);

  if (s.stateDir.startsWith(STATE_ROOT) && s.stateDir.length > STATE_ROOT.length) {
    // Under /var/lib, systemd makes and owns the folder itself and sets $STATE_DIRECTORY.
    replaceLine(out, 'StateDirectory', [`StateDirectory=${escapeSpecifiers(s.stateDir.slice(STATE_ROOT.length))}`]);
  } else {
    // Elsewhere, the installer makes the folder, the unit opens it for writing (ProtectSystem=strict
    // makes everything else read-only) and $STATE_DIRECTORY points the agent at it as before.
    replaceLine(out, 'StateDirectory', [
      `Environment=STATE_DIRECTORY=${escapeSpecifiers(s.stateDir)}`,
      `ReadWritePaths=${escapeSpecifiers(s.stateDir)}`,
    ]);
    replaceLine(out, 'StateDirectoryMode', []);
  }

  if ([s.node, s.entry, s.config, s.stateDir].some((p) => HOME_ROOTS.some((h) => p.startsWith(h)))) {
    replaceLine(out, 'ProtectHome', [
      '# This install (node, kestrel, its config or state) lives under a home folder, which',
      '# ProtectHome=yes would hide: the service sees home folders read-only instead.',
      'ProtectHome=read-only',
    ]);
  }
  return out.join('\n');
}

function header(s: UnitSettings): string[] {
  return [
    `# Kestrel edge agent, written by \`kestrel service install\` (kestrel ${s.version}) from ${s.template}.`,
    '# It runs this install; after moving node or kestrel, or upgrading node, run the install again.',
    `#   node:   ${s.node}`,
    `#   entry:  ${s.entry}`,
    `#   config: ${s.config}   (kestrel config check ${s.config})`,
    `#   state:  ${s.stateDir}   user: ${s.user}`,
    '# Check:    systemctl status kestrel-agent; journalctl -u kestrel-agent',
    '#           curl -s 127.0.0.1:9464/healthz',
    '# Remove:   kestrel service uninstall',
  ].map((l) => l.replace(/\s+$/, ''));
}

/** Replaces the one `KEY=` line with `replacement` (nothing when empty); a missing or repeated key is an error. */
function replaceLine(lines: string[], key: string, replacement: string[]): void {
  const at = lines.flatMap((l, i) => (l.startsWith(`${key}=`) ? [i] : []));
  if (at.length !== 1) {
    throw new KestrelError('E_INSTALL', `the unit template has ${at.length} ${key}= lines where kestrel service install expects exactly one`);
  }
  lines.splice(at[0]!, 1, ...replacement);
}

/**
 * Paths go into the unit verbatim. Whitespace, quotes, backslashes and control characters would
 * each need a different quoting in ExecStart=, Environment= and ReadWritePaths=; such a path is
 * refused with its name rather than written in a way one of them reads differently.
 */
function checkPath(what: string, path: string): void {
  if (!path.startsWith('/')) throw new KestrelError('E_USAGE', `${what} must be an absolute path, got "${path}"`);
  // eslint-disable-next-line no-control-regex
  if (/[\s"'\\\x00-\x1f\x7f]/.test(path)) {
    throw new KestrelError('E_USAGE', `${what} path "${path}" has a space, quote, backslash or control character, which a unit file cannot carry plainly; use a path without them`);
  }
}

/** `%` starts a specifier in every unit setting. */
function escapeSpecifiers(text: string): string {
  return text.replace(/%/g, '%%');
}

/** Exec lines also expand `$VAR`. */
function execArg(arg: string): string {
  return escapeSpecifiers(arg).replace(/\$/g, '$$$$');
}
