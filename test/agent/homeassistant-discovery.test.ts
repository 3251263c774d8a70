// Home Assistant MQTT discovery from a real agent process against the real broker: the discovery
// payloads carry the keys Home Assistant's documentation requires of each component and no key
// it does not know, unique ids are unique and stable, availability is the agent's status topic,
// everything is sent again on Home Assistant's birth message, the entities of a camera removed by
// a reload are removed with an empty retained payload (and leftovers of an earlier run on the next
// start), counts follow the events, and the detection switch really stops and resumes inference
// for its camera while bad commands are ignored.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import mqtt, { type MqttClient } from 'mqtt';
import { parsePayload, type HaEntityConfig, type Stats } from '@kestrel/core';
import { startBroker, type BrokerHandle } from '../support/broker.js';
import { uniquePrefix } from '../support/ports.js';
import { Recorder, cleanUp, startAgentProcess, stopAgent, waitFor, type AgentProcess, type Received } from './support/agent-process.js';

// What Home Assistant's documentation says of each component's discovery config. The MQTT
// integration page (https://www.home-assistant.io/integrations/mqtt/, "MQTT Discovery" and
// "Using abbreviations and base topic") for what every discovered entity of a device has:
// `unique_id` (required for the device registry), `device` with `identifiers` or `connections`,
// and per availability entry its `topic`. Then each platform's "Configuration Variables":
// https://www.home-assistant.io/integrations/binary_sensor.mqtt/  (required: state_topic)
// https://www.home-assistant.io/integrations/sensor.mqtt/         (required: state_topic)
// https://www.home-assistant.io/integrations/switch.mqtt/         (required: command_topic)
// https://www.home-assistant.io/integrations/camera.mqtt/         (required: topic; image_encoding optional, raw bytes without it)
// The known keys are the variables those pages list (plus `origin`, from the discovery page): a
// key outside them is one Home Assistant would drop or refuse, i.e. a typo here.
const COMMON_KEYS = [
  'availability', 'availability_mode', 'availability_template', 'availability_topic', 'device', 'enabled_by_default', 'encoding',
  'entity_category', 'entity_picture', 'icon', 'json_attributes_template', 'json_attributes_topic', 'name', 'object_id', 'default_entity_id',
  'origin', 'payload_available', 'payload_not_available', 'platform', 'qos', 'unique_id',
];
const COMPONENTS = {
  binary_sensor: {
    required: ['state_topic'],
    known: [...COMMON_KEYS, 'device_class', 'expire_after', 'force_update', 'off_delay', 'payload_off', 'payload_on', 'state_topic', 'value_template'],
  },
  sensor: {
    required: ['state_topic'],
    known: [...COMMON_KEYS, 'device_class', 'expire_after', 'force_update', 'last_reset_value_template', 'options', 'state_class', 'state_topic', 'suggested_display_precision', 'unit_of_measurement', 'value_template'],
  },
  switch: {
    required: ['command_topic'],
    known: [...COMMON_KEYS, 'command_template', 'command_topic', 'device_class', 'optimistic', 'payload_off', 'payload_on', 'retain', 'state_off', 'state_on', 'state_topic', 'value_template'],
  },
  camera: {
    required: ['topic'],
    known: [...COMMON_KEYS, 'image_encoding', 'topic'],
  },
} as const;
const DEVICE_KEYS = ['configuration_url', 'connections', 'hw_version', 'identifiers', 'manufacturer', 'model', 'model_id', 'name', 'serial_number', 'suggested_area', 'sw_version', 'via_device'];
const AVAILABILITY_KEYS = ['payload_available', 'payload_not_available', 'topic', 'value_template'];
const ORIGIN_KEYS = ['name', 'sw_version', 'support_url'];

const dir = mkdtempSync(join(tmpdir(), 'kestrel-ha-'));
let broker: BrokerHandle | undefined;
/** Stands for Home Assistant: its birth message and its switch commands. Closed in `after` even when an assertion fails (an open client keeps the test process alive). */
let ha: MqttClient | undefined;
after(async () => {
  await ha?.endAsync(true);
  await cleanUp();
  await broker?.stop();
  rmSync(dir, { recursive: true, force: true });
});

interface Config {
  topic: string;
  component: keyof typeof COMPONENTS;
  objectId: string;
  config: HaEntityConfig;
}

/** The newest non-empty config per discovery topic received after `since`. */
function configsOf(rec: Recorder, discovery: string, since = 0): Map<string, Config> {
  const out = new Map<string, Config>();
  for (const m of rec.messages) {
    if (m.at < since || !m.topic.startsWith(`${discovery}/`) || !m.topic.endsWith('/config')) continue;
    const [component, , objectId] = m.topic.slice(discovery.length + 1).split('/');
    if (m.payload === '') out.delete(m.topic);
    else out.set(m.topic, { topic: m.topic, component: component as Config['component'], objectId: objectId!, config: parsePayload('haDiscovery', m.payload) as HaEntityConfig });
  }
  return out;
}

/** What a fresh subscriber gets retained under `filter` (the broker's view after the dust settles). */
async function retained(url: string, filter: string): Promise<Received[]> {
  const client = await mqtt.connectAsync(url, { clientId: `ha-retained-${Math.random().toString(16).slice(2, 8)}`, reconnectPeriod: 0 });
  const got: Received[] = [];
  client.on('message', (topic, payload, packet) => got.push({ topic, payload: payload.toString(), retain: packet.retain, at: Date.now() }));
  await client.subscribeAsync(filter, { qos: 1 });
  await sleep(700);
  await client.endAsync(true);
  return got;
}

function lastPayload(rec: Recorder, topic: string, since = 0): string | undefined {
  return [...rec.messages].reverse().find((m) => m.topic === topic && m.at >= since)?.payload;
}

function framesProcessed(rec: Recorder, statsTopic: string, camera: string, since = 0): number | undefined {
  const m = [...rec.messages].reverse().find((x) => x.topic === statsTopic && x.at >= since);
  return m ? (JSON.parse(m.payload) as Stats).cameras[camera]?.framesProcessed : undefined;
}

test('Home Assistant discovery: documented keys, stable unique ids, availability, resend on birth, removal on reload and restart, counts, and a detection switch that stops inference', { timeout: 150_000 }, async () => {
  broker = await startBroker();
  const prefix = uniquePrefix('ha');
  // A discovery prefix of its own, so a Home Assistant (or another test) on the shared broker sees nothing of this.
  const discovery = uniquePrefix('ha-discovery');
  const deviceId = 'ha-1';
  const node = `kestrel_${deviceId}`;
  const configPath = join(dir, 'agent.yaml');
  const save = (cameras: string[], frontClasses?: string) => {
    const lines = [
      `device: { id: ${deviceId}, name: "Street pole 1" }`,
      `mqtt: { url: "${broker!.url}", prefix: ${prefix}, statsIntervalSeconds: 1 }`,
      `stateDir: "${join(dir, 'state')}"`,
      'http: { enabled: false }',
      'model: { threads: 1 }',
      `homeassistant: { enabled: true, discoveryPrefix: ${discovery}, labels: [person, car] }`,
      'cameras:',
    ];
    if (cameras.includes('front')) lines.push('  - name: front', '    source: { type: demo }', '    fps: 3', '    tracker: { minHits: 2 }', ...(frontClasses ? [`    filters: { classes: ${frontClasses} }`] : []));
    if (cameras.includes('yard')) lines.push('  - name: yard', '    source: { type: demo }', '    fps: 3', '    tracker: { minHits: 2 }', '    filters: { classes: [person] }');
    writeFileSync(`${configPath}.tmp`, lines.join('\n'));
    renameSync(`${configPath}.tmp`, configPath);
    return Date.now();
  };
  save(['front', 'yard']);
  const rec = new Recorder(broker.url, prefix);
  const haRec = new Recorder(broker.url, discovery);
  await rec.connect();
  await haRec.connect();
  const t = (rest: string) => `${prefix}/${deviceId}/${rest}`;
  const d = (component: string, objectId: string) => `${discovery}/${component}/${node}/${objectId}/config`;
  const expected = [
    d('binary_sensor', 'front_person_detected'), d('sensor', 'front_person_count'), d('camera', 'front_person_snapshot'),
    d('binary_sensor', 'front_car_detected'), d('sensor', 'front_car_count'), d('camera', 'front_car_snapshot'),
    d('switch', 'front_detect'),
    // yard has filters.classes [person]: its entities are for person only.
    d('binary_sensor', 'yard_person_detected'), d('sensor', 'yard_person_count'), d('camera', 'yard_person_snapshot'),
    d('switch', 'yard_detect'),
  ].sort();

  let agent: AgentProcess = startAgentProcess(configPath);
  const first = await waitFor('every discovery config', 60_000, () => {
    const c = configsOf(haRec, discovery);
    return c.size >= expected.length ? c : undefined;
  });
  assert.deepEqual([...first.keys()].sort(), expected);

  // 1. Every payload: Home Assistant's required keys for its component, no key it does not know.
  for (const { topic, component, config } of first.values()) {
    const spec = COMPONENTS[component];
    for (const key of [...spec.required, 'unique_id', 'device', 'availability']) assert.ok(key in config, `${topic} lacks ${key}`);
    for (const key of Object.keys(config)) assert.ok((spec.known as readonly string[]).includes(key), `${topic}: "${key}" is not a ${component} key in Home Assistant's docs`);
    for (const key of Object.keys(config.device)) assert.ok(DEVICE_KEYS.includes(key), `${topic}: device.${key} is not a device key`);
    for (const a of config.availability) for (const key of Object.keys(a)) assert.ok(AVAILABILITY_KEYS.includes(key), `${topic}: availability.${key}`);
    for (const key of Object.keys(config.origin ?? {})) assert.ok(ORIGIN_KEYS.includes(key), `${topic}: origin.${key}`);
    // One device per agent, named as the config names it.
    assert.deepEqual(config.device.identifiers, [node]);
    assert.equal(config.device.name, 'Street pole 1');
    assert.equal(config.device.manufacturer, 'Kestrel');
    assert.ok(config.device.sw_version);
    // Availability is the agent's own status topic (retained online, offline as its last will).
    assert.deepEqual(config.availability, [{ topic: t('status'), payload_available: 'online', payload_not_available: 'offline' }]);
  }
  const byId = (c: Map<string, Config>) => new Map([...c.values()].map((x) => [x.objectId, x.config]));
  const cfg = byId(first);
  assert.equal(cfg.get('front_person_detected')!.state_topic, t('front/person/count'));
  assert.equal(cfg.get('front_person_detected')!.device_class, 'occupancy');
  assert.equal(cfg.get('front_person_count')!.state_topic, t('front/person/count'));
  assert.equal(cfg.get('front_person_snapshot')!.topic, t('front/person/snapshot'));
  assert.equal(cfg.get('front_detect')!.command_topic, t('front/detect/set'));
  assert.equal(cfg.get('front_detect')!.state_topic, t('front/detect/state'));
  const uniqueIds = [...first.values()].map((c) => c.config.unique_id);
  assert.equal(new Set(uniqueIds).size, uniqueIds.length, `unique ids are unique: ${uniqueIds.join(', ')}`);
  assert.equal(lastPayload(rec, t('status')), 'online');

  // Retained on the broker, as Home Assistant reads them after its own restart; the switch state too.
  const kept = await retained(broker.url, `${discovery}/+/${node}/+/config`);
  assert.deepEqual(kept.filter((m) => m.retain && m.payload !== '').map((m) => m.topic).sort(), expected);
  const switchStates = await retained(broker.url, t('+/detect/state'));
  assert.deepEqual(switchStates.map((m) => [m.topic, m.payload, m.retain]).sort(), [[t('front/detect/state'), 'ON', true], [t('yard/detect/state'), 'ON', true]]);

  // 2. Counts: zeros for every entity label at once, then the open tracks as events arrive.
  await waitFor('zero counts for every entity label', 10_000, () => (['front/person', 'front/car', 'yard/person'].every((l) => lastPayload(rec, t(`${l}/count`)) !== undefined) ? true : undefined));
  await waitFor('a person counted on front', 60_000, () => (Number(lastPayload(rec, t('front/person/count'))) >= 1 ? true : undefined));
  const openFront = () => {
    const open = new Set<string>();
    for (const e of rec.events(deviceId, 'front')) if (e.label === 'person') e.type === 'end' ? open.delete(e.trackId) : open.add(e.trackId);
    return open.size;
  };
  // Counts go out at once (QoS 0), events through the outbox a moment later: they agree once both are in.
  await waitFor('the count is the number of open person tracks', 10_000, () => (Number(lastPayload(rec, t('front/person/count'))) === openFront() ? true : undefined), 50);

  // 3. Home Assistant restarts and announces itself: everything again, the same unique ids. A
  //    status that is neither online nor offline is ignored.
  ha = await mqtt.connectAsync(broker.url, { clientId: `ha-fake-${Math.random().toString(16).slice(2, 8)}`, reconnectPeriod: 0 });
  await ha.publishAsync(`${discovery}/status`, 'restarting', { qos: 1 });
  const birthAt = Date.now();
  await ha.publishAsync(`${discovery}/status`, 'online', { qos: 1 });
  const again = await waitFor('discovery sent again after the birth message', 10_000, () => {
    const c = configsOf(haRec, discovery, birthAt);
    return c.size >= expected.length ? c : undefined;
  });
  assert.deepEqual([...again.values()].map((c) => c.config.unique_id).sort(), [...uniqueIds].sort(), 'unique ids are stable');
  await waitFor('the switch state sent again after the birth message', 5_000, () => (lastPayload(rec, t('front/detect/state'), birthAt) === 'ON' ? true : undefined));

  // 4. The switch: OFF stops inference for front (its processed-frame counter stands still while
  //    yard's grows), its open tracks end, bad commands change nothing, ON resumes.
  await ha.publishAsync(t('front/detect/set'), 'OFF', { qos: 1 });
  const offAt = Date.now();
  await waitFor('front detect/state OFF', 10_000, () => (lastPayload(rec, t('front/detect/state'), offAt) === 'OFF' ? true : undefined));
  await waitFor('front person count back to 0', 10_000, () => (lastPayload(rec, t('front/person/count'), offAt) === '0' ? true : undefined));
  assert.equal(openFront(), 0, 'every open track on front ended');
  await sleep(2500); // a frame that was already in the worker when the switch came finishes; the next stats settle
  const settledAt = Date.now();
  const frontBefore = await waitFor('stats after the switch', 5_000, () => framesProcessed(rec, t('stats'), 'front', settledAt));
  const yardBefore = framesProcessed(rec, t('stats'), 'yard', settledAt)!;
  for (const bad of ['off', 'TOGGLE', '', '{"state":"ON"}', '\u0000\u00ff']) await ha.publishAsync(t('front/detect/set'), bad, { qos: 1 });
  await ha.publishAsync(t('nosuchcamera/detect/set'), 'OFF', { qos: 1 });
  await sleep(3500);
  const later = Date.now() - 1200;
  const frontAfter = framesProcessed(rec, t('stats'), 'front', later);
  const yardAfter = framesProcessed(rec, t('stats'), 'yard', later)!;
  assert.equal(frontAfter, frontBefore, 'no frame of front went through inference while detection was off');
  assert.ok(yardAfter > yardBefore + 3, `yard kept detecting (${yardBefore} → ${yardAfter})`);
  assert.equal(lastPayload(rec, t('front/detect/state')), 'OFF', 'bad commands left the switch as it was');
  assert.equal(agent.child.exitCode, null, 'bad commands did not end the agent');
  assert.ok(agent.log.filter((l) => l.msg === 'ignored a detect/set command (the payload is ON or OFF)').length >= 5, 'each bad command is logged');
  assert.ok(agent.log.some((l) => l.msg === 'ignored a detect/set command for a camera that is not running' && l.camera === 'nosuchcamera'));
  const state = JSON.parse(lastPayload(rec, t('state'))!) as { cameras: Record<string, { state: string }>; degraded: string[] };
  assert.equal(state.cameras.front.state, 'streaming', 'the source keeps streaming while detection is off');
  const onAt = Date.now();
  await ha.publishAsync(t('front/detect/set'), 'ON', { qos: 1 });
  await waitFor('front detect/state ON', 10_000, () => (lastPayload(rec, t('front/detect/state'), onAt) === 'ON' ? true : undefined));
  await waitFor('front processing frames again', 15_000, () => ((framesProcessed(rec, t('stats'), 'front', onAt) ?? 0) > frontAfter! + 3 ? true : undefined));

  // 5. A reload removes yard: its entities go with an empty retained payload each.
  const removedAt = save(['front']);
  const yardTopics = expected.filter((topic) => topic.includes('/yard_'));
  await waitFor('yard entities removed', 20_000, () => (yardTopics.every((topic) => haRec.messages.some((m) => m.topic === topic && m.payload === '' && m.at >= removedAt)) ? true : undefined));
  const afterReload = (await retained(broker.url, `${discovery}/+/${node}/+/config`)).filter((m) => m.payload !== '');
  assert.deepEqual(afterReload.map((m) => m.topic).sort(), expected.filter((topic) => !topic.includes('/yard_')));

  // 6. Stopped, the agent is unavailable (status offline); started again with front reporting
  //    person only, the car entities it had published before are removed.
  const stopped = await stopAgent(agent);
  assert.equal(stopped.code, 0);
  assert.equal(lastPayload(rec, t('status')), 'offline');
  const restartAt = save(['front'], '[person]');
  agent = startAgentProcess(configPath);
  const carTopics = [d('binary_sensor', 'front_car_detected'), d('sensor', 'front_car_count'), d('camera', 'front_car_snapshot')];
  await waitFor('leftover car entities removed on start', 60_000, () => (carTopics.every((topic) => haRec.messages.some((m) => m.topic === topic && m.payload === '' && m.at >= restartAt)) ? true : undefined));
  const finalIds = byId(await waitFor('front configs after the restart', 10_000, () => {
    const c = configsOf(haRec, discovery, restartAt);
    return c.size >= 4 ? c : undefined;
  }));
  assert.deepEqual([...finalIds.keys()].sort(), ['front_detect', 'front_person_count', 'front_person_detected', 'front_person_snapshot']);
  assert.equal(finalIds.get('front_person_detected')!.unique_id, cfg.get('front_person_detected')!.unique_id, 'the same unique id across restarts');
  assert.equal((await stopAgent(agent)).code, 0);

  // Leave nothing retained on the shared broker.
  for (const m of await retained(broker.url, `${discovery}/#`)) if (m.payload !== '') await ha.publishAsync(m.topic, '', { qos: 1, retain: true });
  for (const m of await retained(broker.url, `${prefix}/#`)) await ha.publishAsync(m.topic, '', { qos: 1, retain: true });
});
