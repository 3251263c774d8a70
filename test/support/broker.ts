// A real MQTT broker for tests. `startBroker()` reuses the Mosquitto that listens on
// 127.0.0.1:1883 when there is one (tests then keep apart by topic prefix, see uniquePrefix()),
// else spawns a private `mosquitto` on a free port. Tests that stop and start the broker ask for
// a private one: `startBroker({ private: true })`. The private broker is the load test's
// (deploy/src/loadtest/mosquitto.ts), which starts its own too.
import { mqttAnswers, startPrivateBroker, type PrivateBroker } from '@kestrel/deploy/loadtest/mosquitto';

export { mqttAnswers, type PrivateBroker };

export interface BrokerHandle {
  /** `mqtt://127.0.0.1:<port>` */
  url: string;
  host: string;
  port: number;
  /** True when this handle spawned the broker (and stop() ends it). */
  owned: boolean;
  /** Ends a spawned broker; for the shared one, does nothing. */
  stop(): Promise<void>;
}

const SHARED_PORT = 1883;

export function startBroker(options?: { private?: false }): Promise<BrokerHandle>;
export function startBroker(options: { private: true }): Promise<PrivateBroker>;
export async function startBroker(options: { private?: boolean } = {}): Promise<BrokerHandle | PrivateBroker> {
  if (!options.private && (await mqttAnswers(SHARED_PORT))) {
    return { url: `mqtt://127.0.0.1:${SHARED_PORT}`, host: '127.0.0.1', port: SHARED_PORT, owned: false, stop: async () => {} };
  }
  return startPrivateBroker();
}
