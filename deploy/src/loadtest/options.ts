import { KestrelError } from '@kestrel/core';

/**
 * What each simulated device sends, per device. Status, state and stats follow the agent's own
 * defaults (status with a last will on connect, the retained state on connect and every 30 s,
 * stats every `mqtt.statsIntervalSeconds`, 10 s); events and samples are a busy camera's.
 * Every timer starts at a random phase, so the fleet's traffic is even rather than in bursts.
 */
export const RATES = {
  /** `<camera>/events`, QoS 1 (the hub does not consume events: broker load only). */
  eventEverySeconds: 10,
  /** `stats`, QoS 0 (broker load only). */
  statsEverySeconds: 10,
  /** The retained `state`, QoS 1 (the hub's device table, through the shared subscription). */
  stateEverySeconds: 30,
  /** One sample (a 160×120 JPEG) per HTTP POST to /api/v1/samples. */
  httpSampleEverySeconds: 30,
  /** One sample on `<prefix>/<device>/samples`, QoS 1 (ingested through the shared subscription). */
  mqttSampleEverySeconds: 60,
  /** Connects per second while the fleet comes up (a fleet does not reconnect in one instant). */
  connectsPerSecond: 200,
} as const;

/** How long the simulated updater watches a new model before it reports health `passed`. */
export const SIM_WATCH_MS = 1000;
/** A killed replica comes back this long after the kill, as the shipped kestrel-hub.service's RestartSec=5s brings it back. */
export const RESTART_AFTER_MS = 5000;

export interface LoadtestOptions {
  devices: number;
  replicas: number;
  /** Seconds of steady traffic once every device is connected (the run lasts until the rollout finished too). */
  seconds: number;
  /** A postgres:// URL (a schema of its own is made and dropped), or undefined for a fresh SQLite file. */
  records?: string;
  killReplica: boolean;
  /** An MQTT broker to use; undefined starts a private Mosquitto on a free port. */
  broker?: string;
  /** The rollout lease (the hub's rollouts.leaseSeconds). */
  leaseSeconds: number;
  /** Fleet sessions per replica (the hub's mqtt.sessions). */
  sessions: number;
  /** How to start one hub replica: argv after the node binary, `--config <file>` is appended. */
  hubCommand: string[];
}

export interface LoadtestFlags {
  devices?: string;
  replicas?: string;
  seconds?: string;
  records?: string;
  killReplica?: boolean;
  broker?: string;
  leaseSeconds?: string;
  sessions?: string;
}

function wholeNumber(flag: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new KestrelError('E_USAGE', `--${flag} must be a whole number from ${min} to ${max}, got "${value}"`);
  return n;
}

/** The flags of `kestrel hub loadtest`, checked; errors name the flag. */
export function loadtestOptions(flags: LoadtestFlags, hubCommand: string[]): LoadtestOptions {
  const records = flags.records;
  if (records !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(records);
    } catch {
      // reported below
    }
    if (!url || (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') || !url.hostname || url.pathname.length < 2) {
      throw new KestrelError('E_USAGE', `--records must be a postgres:// URL naming host and database (e.g. postgres://postgres@127.0.0.1:5432/test), got "${records}"; leave it out for a fresh SQLite file`);
    }
  }
  const broker = flags.broker;
  if (broker !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(broker);
    } catch {
      // reported below
    }
    if (!url || (url.protocol !== 'mqtt:' && url.protocol !== 'tcp:')) throw new KestrelError('E_USAGE', `--broker must be an mqtt:// URL (e.g. mqtt://127.0.0.1:1883), got "${broker}"; leave it out for a private Mosquitto`);
  }
  const replicas = wholeNumber('replicas', flags.replicas, 2, 1, 16);
  if (flags.killReplica && replicas < 2) throw new KestrelError('E_USAGE', '--kill-replica needs --replicas 2 or more: another replica must take the rollout over');
  return {
    devices: wholeNumber('devices', flags.devices, 200, 1, 100_000),
    replicas,
    seconds: wholeNumber('seconds', flags.seconds, 60, 5, 24 * 3600),
    records,
    killReplica: flags.killReplica === true,
    broker,
    leaseSeconds: wholeNumber('lease-seconds', flags.leaseSeconds, 6, 1, 300),
    sessions: wholeNumber('sessions', flags.sessions, 1, 1, 16),
    hubCommand,
  };
}
