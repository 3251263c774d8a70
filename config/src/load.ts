import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { KestrelError } from '@kestrel/core/util/errors';
import { configContext, type Env } from './context.js';
import { applyEnvOverrides, isPlainObject, substituteEnv, type AppliedOverride } from './env.js';
import { formatIssue, fromZodIssue, type ConfigIssue } from './issues.js';
import { knownKeysAt } from './keys.js';
import { createConfigSchema, type AgentConfig } from './schema/agent.js';
import { namesBroker } from './schema/mqtt.js';
import { parseYaml } from './yaml.js';

/** Where a loaded config came from: what the agent needs to know beyond the values themselves. */
export interface ConfigOrigin {
  /** The file read, or null for the built-in defaults. */
  path: string | null;
  /**
   * Whether a broker was named (mqtt url, credentials or TLS in the file, or KESTREL_MQTT_*).
   * When false and nothing listens on the default URL, the agent starts its embedded broker.
   */
  brokerExplicit: boolean;
  /** KESTREL_* variables that replaced values, e.g. `KESTREL_MQTT_URL → mqtt.url`. */
  envOverrides: AppliedOverride[];
}

export type LoadedConfig = AgentConfig & { origin: ConfigOrigin };

/** A config to check: a file, or YAML text (`name` is what messages call it). */
export type ConfigSource = string | { path: string } | { text: string; name?: string };

export type ConfigCheck = { ok: true; config: LoadedConfig; errors: [] } | { ok: false; errors: ConfigIssue[] };

/**
 * Reads, overrides from the environment and validates a config; every default filled in. With no
 * path (and no $KESTREL_CONFIG), the built-in defaults: one demo camera, MQTT on localhost.
 * Throws `KestrelError('E_CONFIG')` listing every problem, one per line.
 */
export function loadConfig(path?: string, env: Env = process.env): LoadedConfig {
  const chosen = path ?? (env.KESTREL_CONFIG || undefined);
  const result = checkConfig(chosen === undefined ? { text: '', name: 'built-in defaults' } : { path: chosen }, env);
  if (result.ok) return result.config;
  const name = chosen ?? 'the built-in defaults (with the environment)';
  const count = result.errors.length === 1 ? '1 error' : `${result.errors.length} errors`;
  throw new KestrelError('E_CONFIG', `config ${name} has ${count}:\n${result.errors.map((e) => `  ${formatIssue(e)}`).join('\n')}`, {
    errors: result.errors,
  });
}

/**
 * Every problem of a config at once (syntax, unknown keys, bad values, unset variables), each with
 * its path and line. Throws `KestrelError('E_CONFIG')` only when the file cannot be read.
 */
export function checkConfig(source: ConfigSource, env: Env = process.env, cwd = process.cwd()): ConfigCheck {
  const { text, path } = readSource(source, cwd);
  const parsed = parseYaml(text);
  if (parsed.value === undefined) return { ok: false, errors: parsed.issues };

  const raw: unknown = parsed.value ?? {};
  if (!isPlainObject(raw)) {
    return { ok: false, errors: [{ path: '', message: 'the config must be a mapping of sections (device, mqtt, model, cameras, ...), not a list or a single value' }] };
  }
  // `mqtt:` with every line below it commented out means "nothing to say here", not null.
  dropNullValues(raw);

  const issues: ConfigIssue[] = [];
  const substituted = substituteEnv(raw, env, issues) as Record<string, unknown>;
  const brokerNamedInFile = namesBroker(substituted.mqtt);
  const overrides = applyEnvOverrides(substituted, env, cwd);

  const schema = createConfigSchema(configContext(env, path, cwd));
  const result = schema.safeParse(substituted);
  if (!result.success) {
    // A value whose ${VAR} did not resolve already has its issue; its follow-on errors would only confuse.
    const unresolved = new Set(issues.map((issue) => issue.path));
    const known = (segments: (string | number)[]) => knownKeysAt(schema, substituted, segments);
    for (const zodIssue of result.error.issues) {
      for (const issue of fromZodIssue(zodIssue, substituted, known)) {
        if (zodIssue.code === 'unrecognized_keys' || !unresolved.has(issue.path)) issues.push(issue);
      }
    }
  }
  if (issues.length) return { ok: false, errors: placeIssues(issues, parsed.locate, overrides) };

  const origin: ConfigOrigin = {
    path,
    brokerExplicit: brokerNamedInFile || overrides.some((o) => o.env.startsWith('KESTREL_MQTT_')),
    envOverrides: overrides,
  };
  return { ok: true, config: { ...(result.data as AgentConfig), origin }, errors: [] };
}

/** Removes `key:` entries left without a value, in every mapping (list items stay, and are reported). */
function dropNullValues(value: unknown): void {
  if (Array.isArray(value)) value.forEach(dropNullValues);
  else if (isPlainObject(value)) {
    for (const [key, item] of Object.entries(value)) {
      if (item === null) delete value[key];
      else dropNullValues(item);
    }
  }
}

function readSource(source: ConfigSource, cwd: string): { text: string; path: string | null } {
  if (typeof source === 'object' && 'text' in source) return { text: source.text, path: null };
  const path = resolve(cwd, typeof source === 'string' ? source : source.path);
  try {
    return { text: readFileSync(path, 'utf8'), path };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'is not readable by this user' : code === 'EISDIR' ? 'is a folder' : (err as Error).message;
    throw new KestrelError('E_CONFIG', `config file ${path} ${why}`);
  }
}

/** Adds the YAML line to each issue, or says which environment variable set the value. */
function placeIssues(issues: ConfigIssue[], locate: (path: (string | number)[]) => { line: number; column: number } | undefined, overrides: AppliedOverride[]): ConfigIssue[] {
  const placed = issues.map(({ segments, ...issue }) => {
    const override = overrides.find((o) => issue.path === o.path || issue.path.startsWith(`${o.path}.`));
    if (override) return { ...issue, message: `${issue.message} (value from ${override.env})` };
    if (issue.line !== undefined || !segments) return issue;
    return { ...issue, ...locate(segments) };
  });
  // File order reads best; zod reports in schema order.
  return placed
    .map((issue, index) => ({ issue, index }))
    .sort((a, b) => (a.issue.line ?? Infinity) - (b.issue.line ?? Infinity) || a.index - b.index)
    .map(({ issue }) => issue);
}
