import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { z } from 'zod';
import { KestrelError } from '@kestrel/core/util/errors';
import type { Env } from './context.js';
import { isPlainObject, substituteEnv, type AppliedOverride } from './env.js';
import { formatIssue, fromZodIssue, type ConfigIssue } from './issues.js';
import { knownKeysAt } from './keys.js';
import { parseYaml } from './yaml.js';

/**
 * The one way a Kestrel config file (the agent's kestrel.yaml, the hub's hub.yaml) becomes
 * values: read the file → YAML → `${VAR}` substitution → overrides → zod → issues with their
 * path and line. The agent and the hub differ only in their schema and in what they call
 * themselves in messages, so a fix to how configs are read or reported reaches both.
 */

/** A config to check: a file, or YAML text (`name` is what messages call it). */
export type ConfigSource = string | { path: string } | { text: string; name?: string };

export interface ValidateOptions<T> {
  /** The schema, already built for the file's context (its folder, the machine). */
  schema: z.ZodType<T>;
  env: Env;
  /** Said when the file's top level is a list or a single value. */
  notMapping: string;
  /**
   * Runs on the values after `${VAR}` substitution and before validation, and may change them in
   * place: the agent applies its KESTREL_* variables here. What it returns is named in the
   * messages about those values ("value from KESTREL_MQTT_URL").
   */
  prepare?(values: Record<string, unknown>): AppliedOverride[];
}

export type Validated<T> = { ok: true; value: T; overrides: AppliedOverride[] } | { ok: false; errors: ConfigIssue[] };

/** Every problem of a config's YAML text at once (syntax, unknown keys, bad values, unset variables). */
export function validateConfigText<T>(text: string, options: ValidateOptions<T>): Validated<T> {
  const parsed = parseYaml(text);
  if (parsed.value === undefined) return { ok: false, errors: parsed.issues };

  const raw: unknown = parsed.value ?? {};
  if (!isPlainObject(raw)) return { ok: false, errors: [{ path: '', message: options.notMapping }] };
  // `mqtt:` with every line below it commented out means "nothing to say here", not null.
  dropNullValues(raw);

  const issues: ConfigIssue[] = [];
  const substituted = substituteEnv(raw, options.env, issues) as Record<string, unknown>;
  const overrides = options.prepare?.(substituted) ?? [];

  const result = options.schema.safeParse(substituted);
  if (!result.success) {
    // A value whose ${VAR} did not resolve already has its issue; its follow-on errors would only confuse.
    const unresolved = new Set(issues.map((issue) => issue.path));
    const known = (segments: (string | number)[]) => knownKeysAt(options.schema, substituted, segments);
    for (const zodIssue of result.error.issues) {
      for (const issue of fromZodIssue(zodIssue, substituted, known)) {
        if (zodIssue.code === 'unrecognized_keys' || !unresolved.has(issue.path)) issues.push(issue);
      }
    }
  }
  if (issues.length) return { ok: false, errors: placeIssues(issues, parsed.locate, overrides) };
  return { ok: true, value: result.data as T, overrides };
}

/**
 * The text of a config source and the absolute path it came from (null for text). `what` names it
 * in the error: "config file /etc/kestrel/kestrel.yaml does not exist".
 */
export function readConfigSource(source: ConfigSource, what: string, cwd: string): { text: string; path: string | null } {
  if (typeof source === 'object' && 'text' in source) return { text: source.text, path: null };
  const path = resolve(cwd, typeof source === 'string' ? source : source.path);
  try {
    return { text: readFileSync(path, 'utf8'), path };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'is not readable by this user' : code === 'EISDIR' ? 'is a folder' : (err as Error).message;
    throw new KestrelError('E_CONFIG', `${what} ${path} ${why}`);
  }
}

/** The error a loader throws: `<noun> <name> has 2 errors:` and one indented line per problem. */
export function configError(noun: string, name: string, errors: ConfigIssue[]): KestrelError {
  const count = errors.length === 1 ? '1 error' : `${errors.length} errors`;
  return new KestrelError('E_CONFIG', `${noun} ${name} has ${count}:\n${errors.map((e) => `  ${formatIssue(e)}`).join('\n')}`, { errors });
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
