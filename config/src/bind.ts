import { KestrelError } from '@kestrel/core/util/errors';

export interface BindAddress {
  host: string;
  port: number;
}

/** Why `host:port` (or `[ipv6]:port`) is not a listen address, or null when it is one. */
export function bindProblem(bind: string): string | null {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(bind);
  if (!match) return 'must be host:port, e.g. 127.0.0.1:9464, 0.0.0.0:9464 or [::]:9464';
  const port = Number(match[3]);
  if (port > 65535) return `port ${port} is above 65535`;
  return null;
}

/** `127.0.0.1:9464` → `{ host: '127.0.0.1', port: 9464 }`; `[::1]:9464` → `{ host: '::1', ... }`. */
export function parseBind(bind: string): BindAddress {
  const problem = bindProblem(bind);
  if (problem) throw new KestrelError('E_CONFIG', `http.bind "${bind}" ${problem}`);
  const at = bind.lastIndexOf(':');
  const host = bind.slice(0, at).replace(/^\[(.*)\]$/, '$1');
  return { host, port: Number(bind.slice(at + 1)) };
}
