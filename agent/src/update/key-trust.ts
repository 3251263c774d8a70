import { acceptKeySet, parsePayload, trustedKeysOf, TrustedKeys, type KeySet, type TrustedKeyInput } from '@kestrel/core';

/** What the state file keeps of a rotation: the set, and which configured keys it was reached from. */
export interface StoredKeySet {
  set: KeySet;
  /** Fingerprint of the config's trusted keys and threshold when the chain of sets began. */
  fromConfig: string;
}

/**
 * The release keys a device trusts: the config's `update.trustedKeys` (version 0), or the newest
 * key set rotated in from there over `keys/set`. Editing the config's keys is the operator's word
 * and wins: a stored set reached from other configured keys is dropped.
 */
export class KeyTrust {
  private current: TrustedKeys;
  private held?: StoredKeySet;
  private readonly fromConfig: string;

  constructor(
    private readonly configured: readonly TrustedKeyInput[],
    private readonly threshold = 1,
  ) {
    this.current = new TrustedKeys(configured, threshold);
    this.fromConfig = `${threshold}:${this.current.ids.sort().join(',')}`;
  }

  get trusted(): TrustedKeys {
    return this.current;
  }

  /** 0 while the config's keys are trusted. */
  get version(): number {
    return this.held?.set.version ?? 0;
  }

  get stored(): StoredKeySet | undefined {
    return this.held;
  }

  /** Takes a set from the state file if it was reached from the keys configured now; false when it was dropped. */
  restore(stored: StoredKeySet | undefined): boolean {
    if (!stored) return true;
    if (stored.fromConfig !== this.fromConfig) return false;
    this.current = trustedKeysOf(stored.set);
    this.held = stored;
    return true;
  }

  /**
   * A `keys/set` payload: the keys trusted from now on, or why not (E_KEYS_* / E_PAYLOAD). A set
   * already held (the retained message again after a reconnect) is no news: `unchanged`.
   */
  accept(payload: Buffer, now: number): { outcome: 'rotated' | 'unchanged' } {
    const set = parsePayload('keysSet', payload);
    if (this.held && set.version === this.held.set.version && set.signatures.every((s, i) => s.signature === this.held!.set.signatures[i]?.signature)) return { outcome: 'unchanged' };
    this.current = acceptKeySet(set, { trusted: this.current, version: this.version }, now);
    this.held = { set, fromConfig: this.fromConfig };
    return { outcome: 'rotated' };
  }

  /** What model/state says about trust: the set version, the key ids and the threshold. */
  summary(): { version: number; keys: string[]; threshold: number } {
    return { version: this.version, keys: this.current.ids, threshold: this.current.threshold };
  }
}
