import type { z } from 'zod';
import { redactString } from './redact.js';

/** One thing wrong with a config, in words a person can act on. */
export interface ConfigIssue {
  /** `cameras[1].source.url`; empty for problems of the file as a whole (YAML syntax). */
  path: string;
  message: string;
  /** 1-based position in the YAML file, when the problem is at a place in it. */
  line?: number;
  column?: number;
  /** The path as segments (for locating it in the YAML document). */
  segments?: PathSegment[];
}

export type PathSegment = string | number;

/** `['cameras', 1, 'source', 'url']` → `cameras[1].source.url`; odd keys are quoted: `a["b c"]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (/^[A-Za-z_$][\w$-]*$/.test(String(key))) out += out ? `.${String(key)}` : String(key);
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out;
}

/** `cameras[1].source.url: must be an rtsp:// URL (line 12)` — the line `kestrel config check` prints. */
export function formatIssue(issue: ConfigIssue): string {
  const where = issue.line === undefined ? '' : issue.path ? ` (line ${issue.line})` : `line ${issue.line}, column ${issue.column ?? 1}`;
  if (!issue.path) return where ? `${where}: ${issue.message}` : issue.message;
  return `${issue.path}: ${issue.message}${where}`;
}

/** Secrets never appear in an error message, even when the value is what is wrong. */
const SECRET_KEY = /pass(word)?$|secret|token/i;

/** Turns one zod issue into issues people read; `known` lists the valid keys at a path (for "did you mean"). */
export function fromZodIssue(issue: z.core.$ZodIssue, input: unknown, known: (path: PathSegment[]) => string[]): ConfigIssue[] {
  const segments = issue.path.filter((p): p is PathSegment => typeof p === 'string' || typeof p === 'number');
  const at = (message: string, path = segments): ConfigIssue => ({ path: formatPath(path), segments: path, message });
  const value = valueAt(input, segments);
  const secret = SECRET_KEY.test(String(segments[segments.length - 1] ?? ''));
  switch (issue.code) {
    case 'unrecognized_keys': {
      const keys = known(segments);
      return issue.keys.map((key) => at(unknownKeyMessage(key, keys), [...segments, key]));
    }
    case 'invalid_type': {
      if (value === undefined) return [at(`is required (${issue.expected})`)];
      const hint =
        issue.expected === 'string' && (typeof value === 'number' || typeof value === 'boolean')
          ? ' (put it in quotes to make it text)'
          : issue.expected === 'boolean' && typeof value === 'string'
            ? ' (write true or false)'
            : '';
      return [at(`expected ${describeExpected(issue.expected)}, got ${describe(value, secret)}${hint}`)];
    }
    case 'invalid_value':
      return [at(`must be ${issue.values.length === 1 ? '' : 'one of '}${issue.values.map((v) => JSON.stringify(v)).join(', ')}, got ${describe(value, secret)}`)];
    case 'invalid_union': {
      const union = issue as z.core.$ZodIssueInvalidUnion & { discriminator?: string; options?: unknown[] };
      if (union.options) {
        // An option whose tag has a default also matches a missing tag: that is no name to list.
        const options = union.options.filter((o) => o !== undefined).map(String).join(', ');
        return [at(value === undefined ? `is required (one of ${options})` : `unknown ${describeDiscriminated(segments)} ${describe(value, secret)} (known: ${options})`)];
      }
      return [at(issue.message)];
    }
    case 'too_small':
    case 'too_big':
      return [at(isDefaultMessage(issue.message) ? sizeMessage(issue) : issue.message)];
    default:
      return [at(issue.message)];
  }
}

function unknownKeyMessage(key: string, known: string[]): string {
  const suggestion = closest(key, known);
  if (suggestion) return `unknown key "${key}" (did you mean "${suggestion}"?)`;
  return known.length ? `unknown key "${key}" (known keys: ${known.join(', ')})` : `unknown key "${key}"`;
}

/** zod's built-in English messages start like this; messages written in the schema do not. */
function isDefaultMessage(message: string): boolean {
  return /^(Too small|Too big|Invalid)/.test(message);
}

function sizeMessage(issue: z.core.$ZodIssueTooSmall | z.core.$ZodIssueTooBig): string {
  const small = issue.code === 'too_small';
  const limit = small ? (issue as z.core.$ZodIssueTooSmall).minimum : (issue as z.core.$ZodIssueTooBig).maximum;
  const inclusive = issue.inclusive !== false;
  switch (issue.origin) {
    case 'array':
    case 'set':
      return small ? `needs at least ${limit} item${Number(limit) === 1 ? '' : 's'}` : `takes at most ${limit} items`;
    case 'string':
      return small ? (Number(limit) === 1 ? 'must not be empty' : `must be at least ${limit} characters`) : `must be at most ${limit} characters`;
    default:
      return `must be ${small ? (inclusive ? '>=' : '>') : inclusive ? '<=' : '<'} ${String(limit)}`;
  }
}

function describeDiscriminated(path: PathSegment[]): string {
  const parent = path[path.length - 2];
  return typeof parent === 'string' ? `${parent} ${String(path[path.length - 1])}` : String(path[path.length - 1]);
}

function describeExpected(expected: string): string {
  return expected === 'object' ? 'a mapping (key: value lines)' : expected === 'array' ? 'a list' : `a ${expected}`;
}

function describe(value: unknown, secret: boolean): string {
  if (value === null) return 'null (empty)';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (secret) return `a ${typeof value}`;
  if (typeof value === 'string') return JSON.stringify(redactString(value));
  return `${typeof value} ${String(value)}`;
}

export function valueAt(root: unknown, path: readonly PathSegment[]): unknown {
  let node = root;
  for (const key of path) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Record<PathSegment, unknown>)[key];
  }
  return node;
}

/** The known key nearest to a mistyped one, when it is near enough to be a typo. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  return best !== undefined && bestDistance <= Math.max(1, Math.floor(word.length / 3)) ? best : undefined;
}

/** Edits (insert, delete, substitute, swap two neighbours) between two words: "fsp" is one from "fps". */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}
