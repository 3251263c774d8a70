import { haIdPart, outgoing, topicLevelProblem, type Availability, type DeviceTopics, type HaComponent, type HaEntityConfig, type OutgoingMessage } from '@kestrel/core';
import type { CameraConfig } from '@kestrel/config';

/**
 * Home Assistant MQTT discovery configs, as https://www.home-assistant.io/integrations/mqtt/
 * documents them: one retained config per entity on `<discovery>/<component>/<node>/<object>/config`,
 * every entity tied to one device (the agent) by `device.identifiers`, and unavailable while the
 * agent's status topic says `offline` (its retained state and its last will). Per camera:
 *
 * - binary_sensor "<camera> <label> detected": ON while a track of that label is open, read from
 *   the count topic with a value_template (there is no ON/OFF topic; see core's topics.ts);
 * - sensor "<camera> <label> count": the number of open tracks of that label;
 * - camera "<camera> <label> snapshot" (when the camera's snapshots are on): Home Assistant's MQTT
 *   camera showing the retained JPEG on `<camera>/<label>/snapshot`, the best picture of the
 *   label's latest object;
 * - switch "<camera> detection": `<camera>/detect/set` turns inference for the camera on and off,
 *   `<camera>/detect/state` (retained) says which it is.
 */

export interface DiscoveryDevice {
  /** The display name (`device.name` in the config). */
  name: string;
  version: string;
}

export interface DiscoveryEntry {
  readonly camera: string;
  readonly component: HaComponent;
  readonly objectId: string;
  readonly message: OutgoingMessage<'haDiscovery'>;
}

const AVAILABLE: Availability = 'online';
const NOT_AVAILABLE: Availability = 'offline';

/** ON while the count is above zero; a payload that is not a number reads as 0 (OFF) rather than an error in Home Assistant's log. */
export const DETECTED_TEMPLATE = "{{ 'ON' if (value | int(0)) > 0 else 'OFF' }}";

/**
 * The labels a camera gets entities for: its `filters.classes` when it has them (nothing else
 * is reported for it), else the `homeassistant.labels` default. Labels that cannot be a topic
 * level (a "/" in a model's label) get none.
 */
export function entityLabels(camera: CameraConfig, defaults: readonly string[]): string[] {
  return [...new Set(camera.filters.classes ?? defaults)].filter((label) => topicLevelProblem(label) === null);
}

/** Every discovery config of one camera, in a stable order; `snapshots`: the camera publishes snapshots (`snapshots.enabled`), so it gets camera entities. */
export function cameraDiscovery(t: DeviceTopics, device: DiscoveryDevice, camera: string, labels: readonly string[], options: { snapshots?: boolean } = {}): DiscoveryEntry[] {
  const common = (objectId: string, name: string) => ({
    name,
    // Stable across restarts and reloads (built from names only) and unique per device, camera and entity.
    unique_id: `${t.haNodeId}_${objectId}`,
    device: { identifiers: [t.haNodeId], name: device.name, manufacturer: 'Kestrel', model: 'Kestrel agent', sw_version: device.version },
    origin: { name: 'Kestrel', sw_version: device.version },
    availability: [{ topic: t.status, payload_available: AVAILABLE, payload_not_available: NOT_AVAILABLE }],
  });
  const entry = (component: HaComponent, objectId: string, config: HaEntityConfig): DiscoveryEntry => ({
    camera,
    component,
    objectId,
    message: outgoing(t, 'haDiscovery', config, { component, objectId }),
  });
  const cam = haIdPart(camera);
  const entries: DiscoveryEntry[] = [];
  for (const label of labels) {
    const lab = haIdPart(label);
    const countTopic = t.labelCount(camera, label);
    entries.push(
      entry('binary_sensor', `${cam}_${lab}_detected`, {
        ...common(`${cam}_${lab}_detected`, `${camera} ${label} detected`),
        state_topic: countTopic,
        value_template: DETECTED_TEMPLATE,
        payload_on: 'ON',
        payload_off: 'OFF',
        // Frigate's choice for "an object is there", and what Home Assistant shows as Detected/Clear.
        device_class: 'occupancy',
      }),
      entry('sensor', `${cam}_${lab}_count`, {
        ...common(`${cam}_${lab}_count`, `${camera} ${label} count`),
        state_topic: countTopic,
        state_class: 'measurement',
        icon: 'mdi:counter',
      }),
    );
    if (options.snapshots) {
      // Raw JPEG bytes on the topic: HA's MQTT camera reads them as they are (no image_encoding).
      entries.push(entry('camera', `${cam}_${lab}_snapshot`, { ...common(`${cam}_${lab}_snapshot`, `${camera} ${label} snapshot`), topic: t.snapshot(camera, label) }));
    }
  }
  entries.push(
    entry('switch', `${cam}_detect`, {
      ...common(`${cam}_detect`, `${camera} detection`),
      command_topic: t.detectSet(camera),
      state_topic: t.detectState(camera),
      payload_on: 'ON',
      payload_off: 'OFF',
      state_on: 'ON',
      state_off: 'OFF',
      // A command is worth a PUBACK: a lost OFF would leave a camera detecting that someone switched off.
      qos: 1,
      entity_category: 'config',
      icon: 'mdi:motion-sensor',
    }),
  );
  return entries;
}

/** The empty retained payload that removes an entity from Home Assistant (and its retained config from the broker). */
export function removal(t: DeviceTopics, entry: Pick<DiscoveryEntry, 'component' | 'objectId'>): OutgoingMessage<'haDiscovery'> {
  return outgoing(t, 'haDiscovery', '', { component: entry.component, objectId: entry.objectId });
}
