// Flag values for the trainer's commands: a bad value is a user error (E_USAGE) that names the flag
// and repeats what was given.
import { KestrelError } from '@kestrel/core/util/errors';

export function num(value: string | undefined, flag: string, check: (n: number) => boolean = Number.isFinite, what = 'a number'): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !check(n)) throw new KestrelError('E_USAGE', `${flag} must be ${what}, got "${value}"`);
  return n;
}

export const int = (value: string | undefined, flag: string): number | undefined => num(value, flag, (n) => Number.isInteger(n) && n > 0, 'a positive integer');
export const positive = (value: string | undefined, flag: string): number | undefined => num(value, flag, (n) => n > 0, 'a positive number');

export function list(value: string | undefined): string[] | undefined {
  return value === undefined ? undefined : value.split(',').map((s) => s.trim()).filter(Boolean);
}
