import { outgoing, type DeviceTopics, type Logger } from '@kestrel/core';
import type { SnapshotOutlet } from '../snapshots/index.js';
import type { Sampler } from '../sampling/index.js';
import type { MqttLink } from './mqtt-link.js';

/**
 * Where the cameras' snapshots leave the device: the rendered JPEG retained on
 * `<camera>/<label>/snapshot` (QoS 0, only while connected: the broker keeps the last one, and a
 * newer picture replaces a lost one), and the clean picture at the object's end into the sample
 * buffer with reason `snapshot`, from where the uploader takes it to the hub.
 */
export function snapshotOutlet(deps: { topics: DeviceTopics; link: MqttLink; sampler: () => Sampler | undefined; modelVersion: () => string; logger: Logger }): SnapshotOutlet {
  return {
    publish(camera, label, jpeg) {
      try {
        deps.link.publishIfConnected(outgoing(deps.topics, 'snapshot', jpeg, { camera, label }));
      } catch (err) {
        // A model label that cannot be a topic level ("a/b") has no snapshot topic; the HTTP route still serves it.
        deps.logger.debug({ camera, label, err: (err as Error).message }, 'snapshot not published');
      }
    },
    upload(snapshot) {
      deps.sampler()?.keepSnapshot({ ...snapshot, capturedAt: snapshot.frameTime }, deps.modelVersion());
    },
  };
}
