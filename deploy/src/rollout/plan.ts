import { KestrelError } from '@kestrel/core';

export interface WavePlanOptions {
  /** Canary wave size: a count (`2`) or a share of the targets (`10%`). Default 1. */
  canary?: string | number;
  /** Devices per later wave. Default: all the rest in one wave. */
  waveSize?: number;
}

/**
 * Splits the targets into waves: canaries first (online devices preferred: a canary that is
 * off cannot vouch for anything), then waves of `waveSize`. Order is stable so a rerun plans the same.
 */
export function planWaves(targets: readonly string[], options: WavePlanOptions = {}, online: (device: string) => boolean = () => true): string[][] {
  const devices = [...new Set(targets)].sort();
  if (devices.length === 0) return [];
  const canaryCount = Math.min(devices.length, Math.max(1, canarySize(options.canary ?? 1, devices.length)));
  const ordered = [...devices.filter(online), ...devices.filter((d) => !online(d))];
  const canaries = ordered.slice(0, canaryCount);
  const rest = devices.filter((d) => !canaries.includes(d));
  const waves = [canaries];
  const size = options.waveSize ?? (rest.length || 1);
  if (!(Number.isInteger(size) && size > 0)) throw new KestrelError('E_ROLLOUT', `--wave-size must be a positive whole number, got ${size}`);
  for (let i = 0; i < rest.length; i += size) waves.push(rest.slice(i, i + size));
  return waves;
}

function canarySize(value: string | number, total: number): number {
  const text = String(value).trim();
  const percent = /^(\d+(?:\.\d+)?)%$/.exec(text);
  if (percent) return Math.ceil((Number(percent[1]) / 100) * total);
  if (/^\d+$/.test(text)) return Number(text);
  throw new KestrelError('E_ROLLOUT', `--canary must be a count (2) or a percentage (10%), got ${JSON.stringify(text)}`);
}

export interface AbortRule {
  /** Abort when more than this many devices fail (default 0: the first failure aborts). */
  maxFailures: number;
  /** Or when more than this share of the devices answered so far failed. */
  maxFailureRatio?: number;
  /**
   * The share is judged only once this many devices answered (Greengrass's
   * minNumberOfExecutedThings): two failures of the first three say little about a thousand. Default 1.
   */
  minDevices?: number;
}

/**
 * `--abort-if failures>N`, or `failures>P%` with an optional `after M` (judge the share once M
 * devices answered); default: any failure aborts.
 */
export function parseAbortRule(text?: string): AbortRule {
  if (text === undefined) return { maxFailures: 0 };
  const m = /^failures?\s*>\s*(\d+(?:\.\d+)?)(%?)(?:\s+after\s+(\d+))?$/.exec(text.trim());
  if (!m || (m[3] !== undefined && !m[2])) throw new KestrelError('E_ROLLOUT', `--abort-if must be failures>N or failures>P% [after M] (e.g. failures>2, failures>10%, failures>10% after 20), got ${JSON.stringify(text)}`);
  if (!m[2]) return { maxFailures: Number(m[1]) };
  return { maxFailures: Number.POSITIVE_INFINITY, maxFailureRatio: Number(m[1]) / 100, ...(m[3] !== undefined ? { minDevices: Math.max(1, Number(m[3])) } : {}) };
}

export function shouldAbort(rule: AbortRule, failed: number, answered: number): boolean {
  if (failed > rule.maxFailures) return true;
  return rule.maxFailureRatio !== undefined && answered >= (rule.minDevices ?? 1) && failed / answered > rule.maxFailureRatio;
}
