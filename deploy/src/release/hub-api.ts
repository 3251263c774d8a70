import { readFileSync } from 'node:fs';
import { KestrelError } from '@kestrel/core';

/** The hub's operator API as the deploy commands call it: a base URL and an operator token. */
export interface HubApi {
  url: string;
  call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T>;
}

/**
 * The token comes from --token-file or $KESTREL_HUB_TOKEN, never the command line (where `ps`
 * and shell history show it).
 */
export function hubApi(url: string, tokenFile?: string): HubApi {
  const token = tokenFile ? readToken(tokenFile) : process.env.KESTREL_HUB_TOKEN;
  if (!token) throw new KestrelError('E_USAGE', 'an operator token is needed: --token-file <file> or $KESTREL_HUB_TOKEN (kestrel hub operator add <name>)');
  const base = url.replace(/\/$/, '');
  return {
    url: base,
    async call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
      let res: Response;
      try {
        res = await fetch(`${base}${path}`, {
          method,
          headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
          body: body !== undefined ? JSON.stringify(body) : undefined,
        });
      } catch (err) {
        throw new KestrelError('E_HUB_UNREACHABLE', `cannot reach the hub at ${base}: ${(err as Error & { cause?: Error }).cause?.message ?? (err as Error).message}`);
      }
      const text = await res.text();
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
      if (!res.ok) {
        const error = (parsed as { error?: { code?: string; message?: string } } | undefined)?.error;
        throw new KestrelError(error?.code ?? 'E_HUB', `hub ${method} ${path}: ${res.status} ${error?.message ?? text.slice(0, 200)}`);
      }
      return parsed as T;
    },
  };
}

function readToken(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (err) {
    throw new KestrelError('E_USAGE', `cannot read --token-file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}
