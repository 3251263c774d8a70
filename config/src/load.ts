import { configContext, type Env } from './context.js';
import { applyEnvOverrides, type AppliedOverride } from './env.js';
import type { ConfigIssue } from './issues.js';
import { configError, readConfigSource, validateConfigText, type ConfigSource } from './pipeline.js';
import { createConfigSchema, type AgentConfig } from './schema/agent.js';
import { namesBroker } from './schema/mqtt.js';

export type { ConfigSource } from './pipeline.js';

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
  throw configError('config', chosen ?? 'the built-in defaults (with the environment)', result.errors);
}

/**
 * Every problem of a config at once (syntax, unknown keys, bad values, unset variables), each with
 * its path and line. Throws `KestrelError('E_CONFIG')` only when the file cannot be read.
 */
export function checkConfig(source: ConfigSource, env: Env = process.env, cwd = process.cwd()): ConfigCheck {
  const { text, path } = readConfigSource(source, 'config file', cwd);
  let brokerNamedInFile = false;
  const result = validateConfigText(text, {
    schema: createConfigSchema(configContext(env, path, cwd)),
    env,
    notMapping: 'the config must be a mapping of sections (device, mqtt, model, cameras, ...), not a list or a single value',
    prepare: (values) => {
      // Asked of the file (after ${VAR}), before KESTREL_MQTT_* can name a broker of their own.
      brokerNamedInFile = namesBroker(values.mqtt);
      return applyEnvOverrides(values, env, cwd);
    },
  });
  if (!result.ok) return result;

  const origin: ConfigOrigin = {
    path,
    brokerExplicit: brokerNamedInFile || result.overrides.some((o) => o.env.startsWith('KESTREL_MQTT_')),
    envOverrides: result.overrides,
  };
  return { ok: true, config: { ...result.value, origin }, errors: [] };
}
