import { KestrelError } from '@kestrel/core/util/errors';

/** A source option that cannot work; `field` is the path under the camera (`source.url`). */
export function sourceOptionError(field: string, message: string): KestrelError {
  return new KestrelError('E_SOURCE_OPTIONS', `${field}: ${message}`, { field });
}
