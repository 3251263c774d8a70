import { test } from 'node:test';
import assert from 'node:assert/strict';
import { haIdPart, parseDiscoveryTopic, parseTopic, TOPIC_KINDS, TOPIC_SPECS, topicFilter, topicMatches, topics } from '@kestrel/core/mqtt/index';

test('topics() builds every topic of the contract table', () => {
  const t = topics('kestrel', 'pi-1');
  assert.equal(t.status, 'kestrel/pi-1/status');
  assert.equal(t.state, 'kestrel/pi-1/state');
  assert.equal(t.stats, 'kestrel/pi-1/stats');
  assert.equal(t.modelSet, 'kestrel/pi-1/model/set');
  assert.equal(t.modelState, 'kestrel/pi-1/model/state');
  assert.equal(t.samples, 'kestrel/pi-1/samples');
  assert.equal(t.events('front_door'), 'kestrel/pi-1/front_door/events');
  assert.equal(t.detections('front_door'), 'kestrel/pi-1/front_door/detections');
  assert.equal(t.clip('front_door'), 'kestrel/pi-1/front_door/clip');
  assert.equal(t.all, 'kestrel/pi-1/#');
  assert.equal(t.labelCount('front_door', 'person'), 'kestrel/pi-1/front_door/person/count');
  assert.equal(t.snapshot('front_door', 'person'), 'kestrel/pi-1/front_door/person/snapshot');
  assert.equal(t.detectSet('front_door'), 'kestrel/pi-1/front_door/detect/set');
  assert.equal(t.detectState('front_door'), 'kestrel/pi-1/front_door/detect/state');
  assert.equal(t.haStatus, 'homeassistant/status');
  assert.equal(t.haDiscovery('binary_sensor', 'door_person'), 'homeassistant/binary_sensor/kestrel_pi-1/door_person/config');
  assert.equal(topics('kestrel', 'pi-1', { discoveryPrefix: 'ha' }).haStatus, 'ha/status');
});

test('retain and QoS per topic follow the contract: state topics retained, events QoS 1, telemetry QoS 0', () => {
  const retained = TOPIC_KINDS.filter((k) => TOPIC_SPECS[k].retain);
  // model/set is retained so a device that was offline during a push still gets the release.
  assert.deepEqual(retained, ['status', 'state', 'modelSet', 'modelState', 'keysSet', 'shadowSet', 'shadowReport', 'drift', 'snapshot', 'detectState', 'haDiscovery']);
  assert.equal(TOPIC_SPECS.drift.qos, 1);
  assert.equal(TOPIC_SPECS.events.qos, 1);
  assert.equal(TOPIC_SPECS.clip.qos, 1, 'a clip notice is delivered like the event it follows');
  assert.equal(TOPIC_SPECS.detections.qos, 0);
  assert.equal(TOPIC_SPECS.stats.qos, 0);
});

test('a prefix may have several levels', () => {
  assert.equal(topics('site1/kestrel', 'pi').events('cam'), 'site1/kestrel/pi/cam/events');
  assert.deepEqual(parseTopic('site1/kestrel', 'site1/kestrel/pi/cam/events'), { deviceId: 'pi', kind: 'events', camera: 'cam' });
});

test('parseTopic reads back every topic topics() builds', () => {
  const t = topics('kestrel', 'pi-1');
  assert.deepEqual(parseTopic('kestrel', t.status), { deviceId: 'pi-1', kind: 'status' });
  assert.deepEqual(parseTopic('kestrel', t.state), { deviceId: 'pi-1', kind: 'state' });
  assert.deepEqual(parseTopic('kestrel', t.stats), { deviceId: 'pi-1', kind: 'stats' });
  assert.deepEqual(parseTopic('kestrel', t.modelSet), { deviceId: 'pi-1', kind: 'modelSet' });
  assert.deepEqual(parseTopic('kestrel', t.keysSet), { deviceId: 'pi-1', kind: 'keysSet' });
  assert.equal(t.shadowSet, 'kestrel/pi-1/model/shadow');
  assert.deepEqual(parseTopic('kestrel', t.shadowSet), { deviceId: 'pi-1', kind: 'shadowSet' });
  assert.equal(t.shadowReport, 'kestrel/pi-1/shadow');
  assert.deepEqual(parseTopic('kestrel', t.shadowReport), { deviceId: 'pi-1', kind: 'shadowReport' });
  assert.equal(t.keysSet, 'kestrel/pi-1/keys/set');
  assert.deepEqual(parseTopic('kestrel', t.modelState), { deviceId: 'pi-1', kind: 'modelState' });
  assert.deepEqual(parseTopic('kestrel', t.samples), { deviceId: 'pi-1', kind: 'samples' });
  assert.deepEqual(parseTopic('kestrel', t.events('yard')), { deviceId: 'pi-1', kind: 'events', camera: 'yard' });
  assert.deepEqual(parseTopic('kestrel', t.detections('yard')), { deviceId: 'pi-1', kind: 'detections', camera: 'yard' });
  assert.deepEqual(parseTopic('kestrel', t.clip('yard')), { deviceId: 'pi-1', kind: 'clip', camera: 'yard' });
  assert.equal(t.drift('yard'), 'kestrel/pi-1/yard/drift');
  assert.deepEqual(parseTopic('kestrel', t.drift('yard')), { deviceId: 'pi-1', kind: 'drift', camera: 'yard' });
  assert.deepEqual(parseTopic('kestrel', t.drift('model')), { deviceId: 'pi-1', kind: 'drift', camera: 'model' });
  assert.deepEqual(parseTopic('kestrel', t.labelCount('yard', 'person')), { deviceId: 'pi-1', kind: 'labelCount', camera: 'yard', label: 'person' });
  assert.deepEqual(parseTopic('kestrel', t.snapshot('yard', 'person')), { deviceId: 'pi-1', kind: 'snapshot', camera: 'yard', label: 'person' });
  assert.deepEqual(parseTopic('kestrel', t.detectSet('yard')), { deviceId: 'pi-1', kind: 'detectSet', camera: 'yard' });
  assert.deepEqual(parseTopic('kestrel', t.detectState('yard')), { deviceId: 'pi-1', kind: 'detectState', camera: 'yard' });
  // A label named "detect" has its count beside the detect switch, never mistaken for it.
  assert.deepEqual(parseTopic('kestrel', t.labelCount('yard', 'detect')), { deviceId: 'pi-1', kind: 'labelCount', camera: 'yard', label: 'detect' });
  assert.deepEqual(parseDiscoveryTopic('homeassistant', t.haStatus), { kind: 'haStatus' });
  assert.deepEqual(parseDiscoveryTopic('homeassistant', t.haDiscovery('switch', 'yard_detect')), { kind: 'haDiscovery', component: 'switch', nodeId: 'kestrel_pi-1', objectId: 'yard_detect' });
  assert.equal(parseDiscoveryTopic('homeassistant', 'homeassistant/light/x/y/config'), null);
});

test('a label that is not topic-safe gets no count topic; a device id with "_" is its own node id', () => {
  assert.throws(() => topics('kestrel', 'pi').labelCount('yard', 'car/truck'), { code: 'E_TOPIC', message: /label "car\/truck"/ });
  // The ACL names the node as kestrel_%u, so the device id must appear unchanged.
  assert.equal(topics('kestrel', 'pi_2').haNodeId, 'kestrel_pi_2');
  assert.equal(topicFilter('homeassistant', 'haDiscovery', 'pi_2'), 'homeassistant/+/kestrel_pi_2/+/config');
});

test('Home Assistant id parts keep clean names and make every other name unique and allowed', () => {
  assert.equal(haIdPart('front-door1'), 'front-door1');
  const folded = ['front door', 'front_door', 'front.door', 'Front door'].map(haIdPart);
  for (const id of folded) assert.match(id, /^front-door-[0-9a-f]{8}$|^Front-door-[0-9a-f]{8}$/);
  assert.equal(new Set(folded).size, folded.length);
  assert.match(haIdPart('ß'), /^[0-9a-f]{8}$/);
  assert.equal(haIdPart('front door'), haIdPart('front door'), 'stable');
});

test('topicMatches follows MQTT wildcards', () => {
  assert.ok(topicMatches('kestrel/pi/+/detect/set', 'kestrel/pi/yard/detect/set'));
  assert.ok(!topicMatches('kestrel/pi/+/detect/set', 'kestrel/pi/yard/detect/state'));
  assert.ok(topicMatches('homeassistant/#', 'homeassistant/switch/a/b/config'));
  assert.ok(!topicMatches('homeassistant/status', 'homeassistant/status/x'));
});

test('a camera named "model" does not collide with the model topics', () => {
  const t = topics('kestrel', 'pi');
  assert.deepEqual(parseTopic('kestrel', t.events('model')), { deviceId: 'pi', kind: 'events', camera: 'model' });
  assert.deepEqual(parseTopic('kestrel', t.modelState), { deviceId: 'pi', kind: 'modelState' });
});

test('parseTopic returns null for topics that are not Kestrel topics', () => {
  for (const topic of [
    'other/pi/state',
    'kestrelx/pi/state',
    'kestrel/pi',
    'kestrel/pi/unknown',
    'kestrel/pi/cam/unknown',
    'kestrel/pi/cam/x/unknown',
    'kestrel/pi/model/other',
    'kestrel/pi/a/b/events',
    'kestrel//state',
    'kestrel/pi/state/',
  ]) {
    assert.equal(parseTopic('kestrel', topic), null, topic);
  }
});

test('ids and names that would break a topic are refused with a clear error', () => {
  assert.throws(() => topics('kestrel', ''), { code: 'E_TOPIC', message: /device id "" cannot be used in an MQTT topic: it must not be empty/ });
  assert.throws(() => topics('kestrel', 'a/b'), { code: 'E_TOPIC', message: /device id "a\/b".*"\/"/ });
  assert.throws(() => topics('kestrel', 'pi#'), { code: 'E_TOPIC', message: /wildcards/ });
  assert.throws(() => topics('kestrel', 'pi').events('cam+1'), { code: 'E_TOPIC', message: /camera name "cam\+1".*wildcards/ });
  assert.throws(() => topics('kestrel', 'pi').detections(''), { code: 'E_TOPIC', message: /camera name "" .*empty/ });
  assert.throws(() => topics('', 'pi'), { code: 'E_TOPIC', message: /prefix "" .*empty/ });
  assert.throws(() => topics('kestrel/', 'pi'), { code: 'E_TOPIC', message: /prefix .*start or end with "\/"/ });
  assert.throws(() => topics('a//b', 'pi'), { code: 'E_TOPIC', message: /empty level/ });
  assert.throws(() => topics('$SYS', 'pi'), { code: 'E_TOPIC', message: /reserved/ });
});

test('topicFilter subscribes to one kind across the fleet or for one device', () => {
  assert.equal(topicFilter('kestrel', 'state'), 'kestrel/+/state');
  assert.equal(topicFilter('kestrel', 'events'), 'kestrel/+/+/events');
  assert.equal(topicFilter('kestrel', 'modelState', 'pi'), 'kestrel/pi/model/state');
  assert.equal(topicFilter('kestrel', 'detections', 'pi'), 'kestrel/pi/+/detections');
  assert.equal(topicFilter('kestrel', 'detectSet', 'pi'), 'kestrel/pi/+/detect/set');
  assert.equal(topicFilter('homeassistant', 'haStatus'), 'homeassistant/status');
  assert.equal(topicFilter('homeassistant', 'haDiscovery', 'pi'), 'homeassistant/+/kestrel_pi/+/config');
});
