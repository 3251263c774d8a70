import { resolve } from 'node:path';
import type { Env } from './context.js';
import { formatPath, type ConfigIssue, type PathSegment } from './issues.js';

/**
 * The environment's two ways into the config:
 * - `${VAR}` inside any YAML string value (`${VAR:-fallback}` when it may be unset; `$${` for a
 *   literal `${`), so a file can be shared while its secrets live in the environment;
 * - KESTREL_* variables that replace one deployment value each, whatever the file says.
 */

/** Environment variable → config path it replaces. Paths are resolved against the working directory. */
export const ENV_OVERRIDES: readonly { env: string; path: readonly string[]; isPath?: boolean }[] = [
  { env: 'KESTREL_MQTT_URL', path: ['mqtt', 'url'] },
  { env: 'KESTREL_MQTT_USERNAME', path: ['mqtt', 'username'] },
  { env: 'KESTREL_MQTT_PASSWORD', path: ['mqtt', 'password'] },
  { env: 'KESTREL_DEVICE_ID', path: ['device', 'id'] },
  { env: 'KESTREL_STATE_DIR', path: ['stateDir'], isPath: true },
  { env: 'KESTREL_MODEL_PATH', path: ['model', 'path'], isPath: true },
  { env: 'KESTREL_HTTP_BIND', path: ['http', 'bind'] },
  { env: 'KESTREL_LOG_LEVEL', path: ['log', 'level'] },
];

const REFERENCE = /\$\$\{|\$\{([^}]*)\}?/g;
const VARIABLE = /^([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$/s;

/** Replaces `${VAR}` references in every string of `value`; unset variables become issues naming the path. */
export function substituteEnv(value: unknown, env: Env, issues: ConfigIssue[], path: PathSegment[] = []): unknown {
  if (typeof value === 'string') return substituteString(value, env, issues, path);
  if (Array.isArray(value)) return value.map((item, index) => substituteEnv(item, env, issues, [...path, index]));
  if (isPlainObject(value)) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, substituteEnv(item, env, issues, [...path, key])]));
  }
  return value;
}

function substituteString(text: string, env: Env, issues: ConfigIssue[], path: PathSegment[]): string {
  if (!text.includes('${')) return text;
  return text.replace(REFERENCE, (whole: string, inner: string | undefined) => {
    if (whole === '$${') return '${';
    const match = whole.endsWith('}') && inner !== undefined ? VARIABLE.exec(inner) : null;
    if (!match) {
      issues.push({ path: formatPath(path), segments: path, message: `"${whole}" is not a variable reference: write \${NAME} or \${NAME:-default} (or $\${ for a literal "\${")` });
      return whole;
    }
    const [, name, fallback] = match;
    const set = env[name];
    if (set !== undefined) return set;
    if (fallback !== undefined) return fallback;
    issues.push({ path: formatPath(path), segments: path, message: `environment variable ${name} is not set (used as \${${name}}); set it, or write \${${name}:-default}` });
    return whole;
  });
}

export interface AppliedOverride {
  env: string;
  path: string;
}

/**
 * Writes each set KESTREL_* override into `raw` (in place). An empty value counts as unset, as
 * systemd EnvironmentFile= lines like `KESTREL_MQTT_PASSWORD=` are usually meant.
 */
export function applyEnvOverrides(raw: Record<string, unknown>, env: Env, cwd: string): AppliedOverride[] {
  const applied: AppliedOverride[] = [];
  for (const override of ENV_OVERRIDES) {
    const value = env[override.env];
    if (value === undefined || value === '') continue;
    const parent = sectionFor(raw, override.path.slice(0, -1));
    if (!parent) continue; // the section is not a mapping: the schema reports that
    parent[override.path[override.path.length - 1]] = override.isPath ? resolve(cwd, value) : value;
    applied.push({ env: override.env, path: formatPath([...override.path]) });
  }
  return applied;
}

function sectionFor(raw: Record<string, unknown>, path: readonly string[]): Record<string, unknown> | null {
  let node = raw;
  for (const key of path) {
    if (node[key] === undefined || node[key] === null) node[key] = {};
    const next = node[key];
    if (!isPlainObject(next)) return null;
    node = next;
  }
  return node;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
