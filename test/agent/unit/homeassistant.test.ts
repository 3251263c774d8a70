// The pieces of the Home Assistant bridge that need no broker: open-track counts from events,
// and the discovery entries built for a camera (ids, topics, labels).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { haIdPart, parsePayload, topics, type DetectionEvent, type HaEntityConfig } from '@kestrel/core';
import { checkConfig } from '@kestrel/config';
import { OpenTracks } from '../../../agent/src/homeassistant/open-tracks.js';
import { cameraDiscovery, entityLabels, removal } from '../../../agent/src/homeassistant/discovery.js';

const T0 = 1_760_000_000_000;
const ev = (type: DetectionEvent['type'], trackId: string, label: string, camera = 'front'): DetectionEvent => ({
  schema: 1, id: `${trackId}:${type}:${T0}`, type, deviceId: 'pi', camera, trackId, label, score: 0.8, box: [0, 0, 10, 10], zones: [], firstSeen: T0, lastSeen: T0, frameTime: T0, modelVersion: '1',
});

test('open tracks per camera and label follow new, update and end; a relabelled track moves', () => {
  const open = new OpenTracks();
  assert.deepEqual(open.event(ev('new', 'a', 'person')), [{ camera: 'front', label: 'person', count: 1 }]);
  assert.deepEqual(open.event(ev('new', 'b', 'person')), [{ camera: 'front', label: 'person', count: 2 }]);
  assert.deepEqual(open.event(ev('update', 'b', 'person')), [], 'an update of the same label changes nothing');
  assert.deepEqual(open.event(ev('new', 'c', 'person', 'yard')), [{ camera: 'yard', label: 'person', count: 1 }], 'cameras count apart');
  // A vote across confusable classes relabels a track: one count down, the other up.
  assert.deepEqual(open.event(ev('update', 'b', 'dog')), [{ camera: 'front', label: 'person', count: 1 }, { camera: 'front', label: 'dog', count: 1 }]);
  assert.deepEqual(open.labels('front').sort(), ['dog', 'person']);
  assert.deepEqual(open.event(ev('end', 'b', 'dog')), [{ camera: 'front', label: 'dog', count: 0 }]);
  assert.deepEqual(open.event(ev('end', 'b', 'dog')), [], 'a redelivered end changes nothing');
  assert.deepEqual(open.event(ev('end', 'zz', 'person')), [], 'the end of a track never seen changes nothing');
  assert.equal(open.count('front', 'person'), 1);
  open.forget('front');
  assert.equal(open.count('front', 'person'), 0);
  assert.equal(open.count('yard', 'person'), 1);
});

test('a camera\'s discovery entries: one device, stable unique ids, topics of the device, labels from classes or the default', () => {
  const t = topics('kestrel', 'pi_1', { discoveryPrefix: 'ha' });
  const device = { name: 'Pole', version: '1.2.3' };
  const entries = cameraDiscovery(t, device, 'front_door', ['person', 'traffic light']);
  assert.deepEqual(entries.map((e) => e.component), ['binary_sensor', 'sensor', 'binary_sensor', 'sensor', 'switch']);
  for (const e of entries) {
    assert.match(e.message.topic, /^ha\/(binary_sensor|sensor|switch)\/kestrel_pi_1\/[A-Za-z0-9_-]+\/config$/);
    assert.equal(e.message.retain, true);
    const config = parsePayload('haDiscovery', e.message.payload as string) as HaEntityConfig;
    assert.equal(config.unique_id, `kestrel_pi_1_${e.objectId}`);
    assert.deepEqual(config.device.identifiers, ['kestrel_pi_1']);
  }
  const ids = entries.map((e) => e.objectId);
  assert.equal(new Set(ids).size, ids.length);
  assert.deepEqual(ids, cameraDiscovery(t, device, 'front_door', ['person', 'traffic light']).map((e) => e.objectId), 'the same names give the same ids');
  const counts = entries.filter((e) => e.component === 'sensor').map((e) => (parsePayload('haDiscovery', e.message.payload as string) as HaEntityConfig).state_topic);
  assert.deepEqual(counts, ['kestrel/pi_1/front_door/person/count', 'kestrel/pi_1/front_door/traffic light/count']);
  assert.deepEqual(removal(t, entries[0]!), { ...entries[0]!.message, payload: '' });
  // With snapshots on, a camera entity per label shows the label's retained snapshot.
  const cams = cameraDiscovery(t, device, 'front_door', ['person'], { snapshots: true }).filter((e) => e.component === 'camera');
  assert.deepEqual(cams.map((e) => [e.objectId, (parsePayload('haDiscovery', e.message.payload as string) as HaEntityConfig).topic]), [[`${haIdPart('front_door')}_person_snapshot`, 'kestrel/pi_1/front_door/person/snapshot']]);

  const checked = checkConfig({ text: 'cameras:\n  - { name: a, source: { type: demo } }\n  - { name: b, source: { type: demo }, filters: { classes: [dog, "car/truck"] } }\n' }, {});
  assert.ok(checked.ok);
  const config = checked.config;
  assert.deepEqual(entityLabels(config.cameras[0]!, config.homeassistant.labels), ['person', 'bicycle', 'car']);
  assert.deepEqual(entityLabels(config.cameras[1]!, config.homeassistant.labels), ['dog'], 'a label that cannot be a topic level gets no entity');
});
