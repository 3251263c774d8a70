import { isKestrelError, KestrelError } from '@kestrel/core';

/**
 * How a store says it cannot be reached (a database or object store that is down, refusing
 * connections or not answering in time), as opposed to a request it refused. The HTTP API
 * answers this with 503: the client should send the same request again later.
 */
export const STORE_UNAVAILABLE = 'E_HUB_STORE_UNAVAILABLE';

export function storeUnavailable(what: string, cause: unknown): KestrelError {
  const reason = cause instanceof Error ? cause.message || cause.name : String(cause);
  return new KestrelError(STORE_UNAVAILABLE, `${what} cannot be reached (${reason}); try again later`);
}

export function isStoreUnavailable(err: unknown): err is KestrelError {
  return isKestrelError(err) && err.code === STORE_UNAVAILABLE;
}

/** A database newer than this code: refuse it rather than write rows an older schema does not describe. */
export function schemaTooNew(where: string, found: number, known: number): KestrelError {
  return new KestrelError(
    'E_HUB_STORE',
    `${where} has schema version ${found}, newer than this hub knows (up to ${known}): a newer hub migrated it. Run that hub version (or newer), or point this one at another database`,
  );
}
