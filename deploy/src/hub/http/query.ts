import type { SampleFilter } from '../../store/types.js';

/** A refused query parameter. */
export class QueryError extends Error {}

/** `since`/`until`: epoch milliseconds or an ISO 8601 date (`2025-06-01`, `2025-06-01T12:00:00Z`). */
export function parseTime(value: string, what: string): number {
  if (/^\d+$/.test(value)) return Number(value);
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new QueryError(`${what}: "${value}" is neither epoch milliseconds nor an ISO date such as 2025-06-01T12:00:00Z`);
  return ms;
}

const FILTER_KEYS = ['device', 'camera', 'label', 'strategy', 'since', 'until', 'reviewed'] as const;

/** The listing/export filter from query parameters (HTTP) or flags (CLI): the same names in both. */
export function filterFrom(params: Partial<Record<(typeof FILTER_KEYS)[number], string | boolean>>): SampleFilter {
  const filter: SampleFilter = {};
  const str = (key: (typeof FILTER_KEYS)[number]): string | undefined => {
    const v = params[key];
    if (v === undefined || v === '') return undefined;
    if (typeof v !== 'string') throw new QueryError(`${key}: expected a value`);
    return v;
  };
  const device = str('device');
  if (device) filter.deviceId = device;
  const camera = str('camera');
  if (camera) filter.camera = camera;
  const label = str('label');
  if (label) filter.label = label;
  const strategy = str('strategy');
  if (strategy) filter.strategy = strategy;
  const since = str('since');
  if (since) filter.since = parseTime(since, 'since');
  const until = str('until');
  if (until) filter.until = parseTime(until, 'until');
  const reviewed = params.reviewed;
  if (reviewed !== undefined && reviewed !== '') {
    if (reviewed === true || reviewed === 'true') filter.reviewed = true;
    else if (reviewed === 'false') filter.reviewed = false;
    else throw new QueryError(`reviewed: write true or false, got "${String(reviewed)}"`);
  }
  return filter;
}

export function unknownParams(query: Record<string, unknown>, extra: readonly string[]): string[] {
  const known = new Set<string>([...FILTER_KEYS, ...extra]);
  return Object.keys(query).filter((k) => !known.has(k));
}
