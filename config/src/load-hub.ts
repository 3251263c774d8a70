import { dirname } from 'node:path';
import type { ConfigContext, Env } from './context.js';
import type { ConfigIssue } from './issues.js';
import { configError, readConfigSource, validateConfigText, type ConfigSource } from './pipeline.js';
import { createHubConfigSchema, type HubConfig } from './schema/hub.js';

/** The hub's side of the loader: hub.yaml through the same pipeline as the agent's kestrel.yaml. */

export type HubConfigCheck = { ok: true; config: HubConfig; errors: [] } | { ok: false; errors: ConfigIssue[] };

const NOT_MAPPING = 'the hub config must be a mapping of settings (bind, dataDir, mqtt, ...), not a list or a single value';

/**
 * Reads and validates a hub config file (`${VAR}` references resolved from `env`); with no path,
 * the defaults with data in ./hub-data. Throws `KestrelError('E_CONFIG')` listing every problem.
 */
export function loadHubConfig(path?: string, env: Env = process.env, cwd = process.cwd()): HubConfig {
  if (path === undefined) return parseHubConfig('', { name: 'the built-in hub defaults', baseDir: cwd, env, cwd });
  const file = readConfigSource(path, 'hub config', cwd);
  const filePath = file.path as string;
  return parseHubConfig(file.text, { name: filePath, baseDir: dirname(filePath), env, cwd });
}

/** Validates hub config YAML text; relative paths in it are taken from `baseDir`. */
export function parseHubConfig(yamlText: string, options: { name: string; baseDir: string; env?: Env; cwd?: string }): HubConfig {
  const result = validateHubConfig(yamlText, options.baseDir, options.env ?? process.env, options.cwd ?? process.cwd());
  if (!result.ok) throw configError('hub config', options.name, result.errors);
  return result.config;
}

/**
 * Every problem of a hub config at once, each with its path and line (`kestrel config check --hub`).
 * Throws `KestrelError('E_CONFIG')` only when the file cannot be read.
 */
export function checkHubConfig(source: ConfigSource, env: Env = process.env, cwd = process.cwd()): HubConfigCheck {
  const { text, path } = readConfigSource(source, 'hub config', cwd);
  return validateHubConfig(text, path ? dirname(path) : cwd, env, cwd);
}

function validateHubConfig(text: string, baseDir: string, env: Env, cwd: string): HubConfigCheck {
  // The hub has no device id or state dir of its own; the schema reads only baseDir.
  const ctx: ConfigContext = { baseDir, cwd, deviceId: 'hub', stateDir: baseDir };
  const result = validateConfigText(text, { schema: createHubConfigSchema(ctx), env, notMapping: NOT_MAPPING });
  return result.ok ? { ok: true, config: result.value, errors: [] } : result;
}
