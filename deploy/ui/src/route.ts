// Hash routes (#/queue?camera=door, #/review/<device>/<id>?..., #/fleet, #/rollouts, #/shadows): the hub
// serves one page, and the filters survive a reload and can be shared as a link.
import { useEffect, useState } from 'preact/hooks';
import type { QueueFilter } from './api.js';

export interface Route {
  page: 'queue' | 'review' | 'fleet' | 'rollouts' | 'shadows';
  filter: QueueFilter;
  sample?: { deviceId: string; id: string };
}

const FILTER_KEYS = ['device', 'camera', 'label', 'strategy', 'reviewed'] as const;

export function parseRoute(hash: string): Route {
  const [path, query = ''] = hash.replace(/^#/, '').split('?');
  const params = new URLSearchParams(query);
  const filter: QueueFilter = {};
  for (const k of FILTER_KEYS) {
    const v = params.get(k);
    if (v) (filter as Record<string, string>)[k] = v;
  }
  const parts = (path ?? '').split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0] === 'review' && parts.length === 3) return { page: 'review', filter, sample: { deviceId: parts[1], id: parts[2] } };
  if (parts[0] === 'fleet') return { page: 'fleet', filter };
  if (parts[0] === 'rollouts') return { page: 'rollouts', filter };
  if (parts[0] === 'shadows') return { page: 'shadows', filter };
  return { page: 'queue', filter };
}

export function filterQuery(filter: QueueFilter): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(filter)) if (v) params.set(k, v);
  const s = params.toString();
  return s ? `?${s}` : '';
}

export function queueHref(filter: QueueFilter): string {
  return `#/queue${filterQuery(filter)}`;
}

export function reviewHref(sample: { deviceId: string; id: string }, filter: QueueFilter): string {
  return `#/review/${encodeURIComponent(sample.deviceId)}/${encodeURIComponent(sample.id)}${filterQuery(filter)}`;
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return route;
}
