import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';

/**
 * This replica's name: the configured one, else the host name (each replica usually has its own
 * host or container). It suffixes the MQTT client id, which must differ per replica: two clients
 * with one id take the session from each other in turn.
 */
export function replicaName(configured: string | undefined): string {
  const name = configured ?? hostname().replace(/[^A-Za-z0-9_.-]/g, '-').slice(0, 27);
  return name || 'hub';
}

/**
 * Who holds a rollout lease: the replica's name plus a per-process suffix, so a replica restarted
 * under the same name is a new holder and does not mistake its dead predecessor's lease for its own.
 */
export function leaseHolder(replica: string): string {
  return `${replica}/${process.pid}-${randomBytes(3).toString('hex')}`;
}

/** A fleet subscription filter as one member of a shared group (`$share/<group>/<filter>`), or plain without a group. */
export function sharedFilter(group: string, filter: string): string {
  return group ? `$share/${group}/${filter}` : filter;
}
