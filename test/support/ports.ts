import { randomBytes } from 'node:crypto';

// One free-port probe for the tests and `kestrel hub loadtest`, which starts brokers and hubs the same way.
export { freePort } from '@kestrel/deploy/loadtest/mosquitto';

/** A topic prefix no other test (or a running agent) uses. */
export function uniquePrefix(tag = 't'): string {
  return `kestrel-test-${tag}-${randomBytes(4).toString('hex')}`;
}
