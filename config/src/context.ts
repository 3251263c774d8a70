import { hostname as osHostname } from 'node:os';
import { dirname, resolve } from 'node:path';

/**
 * What the defaults depend on besides the file itself: where relative paths start, the machine's
 * name and whether systemd gave us a state directory. Passed into the schema so that the schema
 * stays the one place where every default is decided.
 */
export interface ConfigContext {
  /** Relative paths written in the file are resolved against this: the config file's folder, or the working directory. */
  baseDir: string;
  /** The working directory, for defaults and environment values that are not written in a file. */
  cwd: string;
  /** Default `device.id`. */
  deviceId: string;
  /** Default `stateDir`. */
  stateDir: string;
}

export type Env = Record<string, string | undefined>;

export function configContext(env: Env, configPath: string | null, cwd = process.cwd(), hostname = osHostname()): ConfigContext {
  return {
    baseDir: configPath ? dirname(resolve(cwd, configPath)) : cwd,
    cwd,
    deviceId: deviceIdFromHostname(hostname),
    stateDir: defaultStateDir(env, cwd),
  };
}

/**
 * systemd's `StateDirectory=` sets $STATE_DIRECTORY (a colon-separated list when the unit names
 * several); a service uses the first. Run by hand, state stays next to where it was started.
 */
export function defaultStateDir(env: Env, cwd: string): string {
  const fromSystemd = env.STATE_DIRECTORY?.split(':')[0];
  return fromSystemd ? resolve(cwd, fromSystemd) : resolve(cwd, '.kestrel-state');
}

/** `Front-Door.local` → `front-door`: the short host name, made a valid device id (see NAME_PATTERN). */
export function deviceIdFromHostname(hostname: string): string {
  const short = hostname.split('.')[0] ?? '';
  const id = short
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 64);
  return id || 'kestrel';
}
