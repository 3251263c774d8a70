import { createHash, randomBytes } from 'node:crypto';
import { KestrelError } from '@kestrel/core';
import { NAME_PATTERN } from '@kestrel/config/schema/common';
import type { RecordStore, TokenRecord, TokenRole } from '../store/types.js';

/**
 * Bearer tokens for devices (and operators). A token is 32 random bytes (256 bits), shown once
 * and stored as its SHA-256. A slow password hash (scrypt) protects guessable secrets; a 256-bit
 * random token cannot be guessed, so its plain SHA-256 is as safe at rest — and, unlike a salted
 * scrypt, it is a lookup key: each request finds its token with one indexed query instead of
 * tens of milliseconds of key stretching per device per batch.
 */

const PREFIX = 'kst_';

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export function newToken(): string {
  return PREFIX + randomBytes(32).toString('base64url');
}

export interface IssuedToken {
  name: string;
  role: TokenRole;
  /** The secret: shown once, stored nowhere. */
  token: string;
  createdAt: number;
}

/** Issues a token for a device (or operator). With `replace`, an existing active token is revoked first. */
export async function issueToken(store: RecordStore, name: string, role: TokenRole, options: { replace?: boolean; now?: number } = {}): Promise<IssuedToken> {
  if (!NAME_PATTERN.test(name)) {
    throw new KestrelError('E_USAGE', `${role} name "${name}" must be 1-64 letters, digits, "_" or "-" (for a device: its device.id)`);
  }
  const now = options.now ?? Date.now();
  const existing = await store.activeToken(name, role);
  if (existing && !options.replace) {
    throw new KestrelError('E_HUB_TOKEN_EXISTS', `${role} "${name}" already has a token (issued ${new Date(existing.createdAt).toISOString()}); revoke it first, or add --replace to issue a new one and revoke the old`);
  }
  if (existing) await store.revokeTokens(name, role, now);
  const token = newToken();
  await store.addToken({ name, role, hash: hashToken(token), createdAt: now });
  return { name, role, token, createdAt: now };
}

export async function revokeToken(store: RecordStore, name: string, role: TokenRole, now = Date.now()): Promise<void> {
  const revoked = await store.revokeTokens(name, role, now);
  if (revoked === 0) {
    const known = (await store.listTokens(role)).filter((t) => t.revokedAt === undefined).map((t) => t.name);
    const list = known.length ? ` (${role}s with a token: ${known.join(', ')})` : '';
    throw new KestrelError('E_HUB_TOKEN_UNKNOWN', `${role} "${name}" has no active token${list}`);
  }
}

export type Authentication = { ok: true; token: TokenRecord } | { ok: false; message: string };

/** Who a request's Authorization header belongs to, or why it is refused (401). */
export async function authenticate(store: RecordStore, header: string | undefined): Promise<Authentication> {
  if (!header) return { ok: false, message: 'missing bearer token: send "Authorization: Bearer <token>" (issue one with: kestrel hub device add <device id>)' };
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match) return { ok: false, message: 'the Authorization header must be "Bearer <token>"' };
  const record = await store.tokenByHash(hashToken(match[1]));
  if (!record) return { ok: false, message: 'unknown token: it was not issued by this hub (kestrel hub device add <device id>)' };
  if (record.revokedAt !== undefined) {
    return { ok: false, message: `the token of ${record.role} "${record.name}" was revoked at ${new Date(record.revokedAt).toISOString()}; issue a new one with: kestrel hub ${record.role} add ${record.name}` };
  }
  return { ok: true, token: record };
}
