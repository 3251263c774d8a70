// The test harnesses themselves: brokers that tests share or own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mqttAnswers, startBroker } from '../support/broker.js';

test('a private broker can be killed and started again on the same port', async () => {
  const broker = await startBroker({ private: true });
  try {
    assert.equal(broker.owned, true);
    assert.match(broker.url, /^mqtt:\/\/127\.0\.0\.1:\d+$/);
    assert.notEqual(broker.port, 1883);
    assert.equal(await mqttAnswers(broker.port), true, 'answers MQTT CONNECT with CONNACK');
    await broker.kill();
    assert.equal(broker.running, false);
    assert.equal(await mqttAnswers(broker.port), false);
    await broker.start();
    assert.equal(await mqttAnswers(broker.port), true, 'back on the same port');
  } finally {
    await broker.stop();
  }
  assert.equal(await mqttAnswers(broker.port), false, 'stop() ends it');
});

test('startBroker() reuses the broker on 127.0.0.1:1883 when one answers there, else owns one', async () => {
  const shared = await mqttAnswers(1883);
  const broker = await startBroker();
  try {
    assert.equal(broker.owned, !shared);
    assert.equal(broker.port === 1883, shared);
    assert.equal(await mqttAnswers(broker.port), true);
  } finally {
    await broker.stop();
  }
  if (shared) assert.equal(await mqttAnswers(1883), true, 'stopping a shared broker leaves it running');
});
