import { accessSync, constants, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { bindProblem } from '../bind.js';
import type { ConfigContext } from '../context.js';

/** Building blocks shared by the config sections. */

/**
 * Device ids, camera and zone names. They become MQTT topic levels, metric labels and file
 * names, so they keep to the characters that are safe in all three (Frigate's rule for camera names).
 */
export const NAME_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

export const name = z
  .string()
  .regex(NAME_PATTERN, 'must be 1-64 letters, digits, "_" or "-" (it is used in MQTT topics and file names), e.g. "front_door"');

export const text = z.string().min(1, 'must not be empty');

export const positiveInt = z.number().int().positive();

export const nonNegativeInt = z.number().int().nonnegative();

export const fraction = z.number().min(0).max(1);

/** A `host:port` (or `[ipv6]:port`) to listen on: the agent's /metrics, the hub's API. */
export const bindAddress = z.string().superRefine((value, refinement) => {
  const problem = bindProblem(value);
  if (problem) refinement.addIssue({ code: 'custom', message: problem });
});

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** `log:` of the agent and of the hub: one logger, one set of levels. */
export const logSection = z.strictObject({
  level: z.enum(LOG_LEVELS).default('info'),
});

/**
 * A file or folder path, made absolute: relative paths are taken from the config file's folder
 * (as people expect of a config file, whatever the service's working directory), `~/` from home.
 */
export function filePath(ctx: ConfigContext) {
  return text.transform((path) => (path === '~' || path.startsWith('~/') ? join(homedir(), path.slice(1)) : resolve(ctx.baseDir, path)));
}

/**
 * A path to a file that must be there when the config is checked: a TLS certificate or a model
 * that is missing passed `config check` and then crashed the agent or the hub at start (a stack
 * trace, and systemd restarting it every few seconds). Checked on the machine that runs the check,
 * which for `kestrel config check` on a workstation may not be the device: the message says so.
 */
export function existingFile(ctx: ConfigContext) {
  return filePath(ctx).superRefine((path, refinement) => {
    const problem = fileProblem(path);
    if (problem) refinement.addIssue({ code: 'custom', message: `${path} ${problem}` });
  });
}

function fileProblem(path: string): string | undefined {
  try {
    if (!statSync(path).isFile()) return 'is not a file';
    accessSync(path, constants.R_OK);
    return undefined;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return 'does not exist on this machine';
    if (code === 'EACCES') return 'is not readable by this user';
    return `cannot be read (${code ?? (err as Error).message})`;
  }
}

/**
 * Options for cross-field checks: run them even when a field already failed, so that one pass
 * reports every problem. Such checks must therefore look before they touch (values may be malformed).
 */
export const ALWAYS = { when: () => true };

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Jittered exponential backoff bounds. */
export function backoff(defaults: { minMs: number; maxMs: number }) {
  return z
    .strictObject({
      // A floor: a 1 ms retry against a broker or camera that is away is a busy loop.
      minMs: positiveInt.min(50, 'must be at least 50 (milliseconds before the first retry)').default(defaults.minMs).describe('first retry delay, milliseconds'),
      maxMs: positiveInt.default(defaults.maxMs).describe('longest retry delay, milliseconds'),
    })
    .superRefine((value: unknown, ctx) => {
      if (!isRecord(value)) return;
      const { minMs, maxMs } = value;
      if (typeof minMs === 'number' && typeof maxMs === 'number' && minMs > maxMs) {
        ctx.addIssue({ code: 'custom', path: ['maxMs'], message: `must be >= minMs (${minMs})` });
      }
    }, ALWAYS);
}

// No regex flags below: JSON Schema patterns have none, and the emitted schema must accept what the loader accepts.
const BYTE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
};

const BYTE_SIZE_MESSAGE = 'must be a number of bytes or a size such as "64MiB" or "1GB"';

/** A size in bytes: a number, or a string such as `64MiB` or `1GB` (IEC units are powers of 1024, SI units of 1000). */
export const byteSize = z
  .union([positiveInt, z.string().regex(/^\s*\d+(\.\d+)?\s*([kKmMgG][iI]?)?[bB]\s*$/, BYTE_SIZE_MESSAGE)], { error: BYTE_SIZE_MESSAGE })
  .transform((value) => {
    if (typeof value === 'number') return value;
    const [, amount, unit] = /^\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*$/i.exec(value) as RegExpExecArray;
    return Math.round(Number(amount) * BYTE_UNITS[unit.toLowerCase()]);
  });

/** Adds an issue for every repeated value of `key` among `items`, at the repeat. */
export function reportDuplicates(items: unknown, key: string, what: string, ctx: z.RefinementCtx): void {
  if (!Array.isArray(items)) return;
  const first = new Map<unknown, number>();
  items.forEach((item, index) => {
    // Runs even when items are malformed (so every error shows in one pass): look before touching.
    const value = typeof item === 'object' && item !== null ? (item as Record<string, unknown>)[key] : undefined;
    if (typeof value !== 'string') return;
    const seen = first.get(value);
    if (seen === undefined) first.set(value, index);
    else ctx.addIssue({ code: 'custom', path: [index, key], message: `duplicate ${what} "${value}" (also at [${seen}])` });
  });
}
