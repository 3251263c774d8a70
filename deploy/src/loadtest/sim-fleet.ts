import mqtt from 'mqtt';
import sharp from 'sharp';
import { topics } from '@kestrel/core';
import type { SimDevice } from './sim-device.js';

/** A 160×120 JPEG with some texture (a flat one would be a few hundred bytes, not a camera's). */
export async function sampleJpeg(): Promise<{ base64: string; width: number; height: number }> {
  const width = 160;
  const height = 120;
  const raw = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) {
    const i = (y * width + x) * 3;
    raw[i] = (x * 3 + y) & 0xff;
    raw[i + 1] = (y * 5 + ((x * y) >> 4)) & 0xff;
    raw[i + 2] = ((x ^ y) * 7) & 0xff;
  }
  const jpeg = await sharp(raw, { raw: { width, height, channels: 3 } }).jpeg({ quality: 85 }).toBuffer();
  return { base64: jpeg.toString('base64'), width, height };
}

/** Disconnects the devices, 200 at a time. */
export async function stopDevices(devices: SimDevice[]): Promise<void> {
  for (let i = 0; i < devices.length; i += 200) await Promise.all(devices.slice(i, i + 200).map((d) => d.stop()));
}

/**
 * On a broker the run was given: the devices' retained topics cleared and the replicas'
 * persistent sessions ended (a clean connect under their client ids), so nothing of the run stays.
 */
export async function forgetOnBroker(url: string, prefix: string, ids: string[], sessions: string[]): Promise<void> {
  const client = await mqtt.connectAsync(url, { clientId: `${prefix}-cleanup`, clean: true });
  try {
    for (const id of ids) {
      const t = topics(prefix, id);
      await Promise.all([t.status, t.state, t.modelState, t.modelSet].map((topic) => client.publishAsync(topic, '', { qos: 1, retain: true })));
    }
  } finally {
    await client.endAsync();
  }
  for (const session of sessions) {
    const c = await mqtt.connectAsync(url, { clientId: session, clean: true, reconnectPeriod: 0 });
    await c.endAsync();
  }
}
