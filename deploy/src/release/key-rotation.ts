import { createPublicKey, type KeyObject } from 'node:crypto';
import { KestrelError, keyIdOf, outgoing, parsePayload, rawPublicKey, signKeySet, topics, type KeySet, type Logger } from '@kestrel/core';
import type { BlobStore } from './ports.js';
import type { RolloutMqtt } from '../rollout/fleet-view.js';

const CURRENT = 'keys/current.json';

/**
 * Release-key rotation from the hub: a key set (the keys devices trust and how many must sign)
 * signed by the holders of enough old keys and enough new ones, kept in the blob store and
 * published retained on each device's `keys/set`, so devices that are away take it when they
 * return. What devices accept is decided on the device (core's acceptKeySet); the hub only refuses
 * to publish a set that could not be accepted by anyone.
 */
export class KeyRotation {
  constructor(private readonly deps: { blobs: BlobStore; mqtt: RolloutMqtt; prefix: string; logger: Logger; now?: () => number }) {}

  /** The last set published, if any. */
  async current(): Promise<KeySet | undefined> {
    const data = await this.deps.blobs.get(CURRENT);
    return data ? parsePayload('keysSet', data) : undefined;
  }

  /**
   * Builds, signs, stores and publishes the next set. `keys`: the public keys devices trust from
   * now on; `signers`: private keys of old and new holders (each signs once).
   */
  async rotate(options: { keys: KeyObject[]; threshold: number; signers: KeyObject[]; ttlMs: number; devices: string[] }): Promise<KeySet> {
    const { keys, threshold, signers, devices } = options;
    if (devices.length === 0) throw new KestrelError('E_KEYS', 'no devices to send the key set to (--to)');
    const ids = keys.map((k) => keyIdOf(k));
    if (new Set(ids).size !== ids.length) throw new KestrelError('E_KEYS', 'a key is listed twice in --trust');
    if (threshold > keys.length) throw new KestrelError('E_KEYS', `--threshold ${threshold} cannot be met by ${keys.length} key${keys.length === 1 ? '' : 's'}`);
    const signerIds = new Set(signers.map((k) => keyIdOf(createPublicKey(k))));
    const newSigners = ids.filter((id) => signerIds.has(id)).length;
    // Devices would refuse it (E_KEYS_UNPROVEN): say so here, before anything is published.
    if (newSigners < threshold) throw new KestrelError('E_KEYS', `only ${newSigners} of the new keys sign the set; ${threshold} must (pass their private keys with --sign), to show they are held`);
    const now = (this.deps.now ?? Date.now)();
    const previous = await this.current();
    const set = signKeySet(
      { version: (previous?.version ?? 0) + 1, threshold, keys: keys.map((k) => ({ publicKey: rawPublicKey(k).toString('base64') })), issuedAt: now, expires: now + options.ttlMs },
      signers,
    );
    await this.deps.blobs.put(`keys/keyset-${set.version}.json`, Buffer.from(JSON.stringify(set, null, 2)));
    await this.deps.blobs.put(CURRENT, Buffer.from(JSON.stringify(set)));
    for (const device of devices) {
      const message = outgoing(topics(this.deps.prefix, device), 'keysSet', set);
      await this.deps.mqtt.publishAsync(message.topic, message.payload, { qos: message.qos, retain: message.retain });
    }
    this.deps.logger.info({ version: set.version, keys: ids, threshold, devices: devices.length }, 'key set published');
    return set;
  }
}
