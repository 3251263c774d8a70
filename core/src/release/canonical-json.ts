import { KestrelError } from '../util/errors.js';

/**
 * The one byte string a manifest's signature covers: JSON with object keys sorted by UTF-16 code unit (as RFC 8785 does),
 * no whitespace, `undefined` members left out (as JSON.stringify does). Signer and verifier must
 * produce the same bytes from the same value whatever order the fields were written or received
 * in, so key order is never left to the producer. Numbers must be finite: `NaN` would silently
 * become `null` and sign something other than what the caller holds.
 */
export function canonicalJson(value: unknown): string {
  return write(value, '$');
}

function write(value: unknown, path: string): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new KestrelError('E_CANONICAL_JSON', `${path} is ${value}: only finite numbers can be signed`);
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) return `[${value.map((item, i) => (item === undefined ? 'null' : write(item, `${path}[${i}]`))).join(',')}]`;
      const entries = Object.keys(value as Record<string, unknown>)
        .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
        .sort()
        .map((key) => `${JSON.stringify(key)}:${write((value as Record<string, unknown>)[key], `${path}.${key}`)}`);
      return `{${entries.join(',')}}`;
    }
    default:
      throw new KestrelError('E_CANONICAL_JSON', `${path} is a ${typeof value}: only JSON values can be signed`);
  }
}
