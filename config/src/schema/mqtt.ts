import { z } from 'zod';
import { topicPrefixProblem } from '@kestrel/core/mqtt/topics';
import type { ConfigContext } from '../context.js';
import { ALWAYS, backoff, existingFile, isRecord, text } from './common.js';

export const DEFAULT_MQTT_URL = 'mqtt://127.0.0.1:1883';

function tls(ctx: ConfigContext) {
  return z
    .strictObject({
      ca: existingFile(ctx).optional().describe('PEM file of the CA that signed the broker certificate'),
      cert: existingFile(ctx).optional().describe('PEM client certificate (mutual TLS)'),
      key: existingFile(ctx).optional().describe('PEM private key of the client certificate'),
      rejectUnauthorized: z.boolean().default(true).describe('false accepts any broker certificate: for testing only'),
    })
    .superRefine((value: unknown, refinement) => {
      if (!isRecord(value)) return;
      if ((value.cert === undefined) !== (value.key === undefined)) {
        refinement.addIssue({ code: 'custom', path: [value.cert === undefined ? 'cert' : 'key'], message: 'give cert and key together (mutual TLS), or neither' });
      }
    }, ALWAYS);
}

/** A broker URL in a scheme mqtt.js connects with; shared by the agent's and the hub's config. */
export const brokerUrl = z
  .string()
  .superRefine((value, refinement) => {
    const problem = brokerUrlProblem(value);
    if (problem) refinement.addIssue({ code: 'custom', message: `must be a broker URL (mqtt://host:1883, mqtts://host:8883, ws:// or wss://): ${problem}` });
  })
  .default(DEFAULT_MQTT_URL);

/**
 * Why a broker URL would not connect, or undefined. A pattern alone let "mqtt://a b:1883",
 * "mqtt://127.0.0.1:99999" and "mqtt://[::1" pass the check and then throw inside mqtt.js at
 * start, so the URL is parsed the way the client will parse it.
 */
export function brokerUrlProblem(value: string): string | undefined {
  if (/\s/.test(value)) return `"${value}" contains a space`;
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(value)?.[1]?.toLowerCase();
  if (!scheme || !['mqtt', 'mqtts', 'ws', 'wss'].includes(scheme)) return `"${value}" must start with mqtt://, mqtts://, ws:// or wss://`;
  const port = /^[^:]+:\/\/(?:[^@/]*@)?(?:\[[^\]]*\]|[^:/?#]*):(\d+)/.exec(value)?.[1];
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) return `port ${port} is out of range (1 to 65535)`;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `"${value}" is not a valid URL`;
  }
  if (url.hostname === '') return `"${value}" names no host`;
  return undefined;
}

/** The first topic level(s) of every Kestrel topic; shared by the agent's and the hub's config. */
export const topicPrefix = z
  .string()
  .superRefine((value, refinement) => {
    const problem = topicPrefixProblem(value);
    if (problem) refinement.addIssue({ code: 'custom', message: `not a usable topic prefix: it ${problem}` });
  })
  .default('kestrel');

export function mqttSchema(ctx: ConfigContext) {
  return z
    .strictObject({
      url: brokerUrl,
      prefix: topicPrefix,
      username: text.optional(),
      password: z.string().optional().describe('write it as ${ENV_VAR} or set KESTREL_MQTT_PASSWORD instead of keeping it in the file'),
      clientId: text.max(128).optional().describe('default: kestrel-<device id>'),
      tls: tls(ctx).optional(),
      keepalive: z.number().int().min(0).max(65535).default(30).describe('seconds; 0 turns keepalive off'),
      reconnect: backoff({ minMs: 1000, maxMs: 10000 }).prefault({}),
      publishDetections: z.boolean().default(false).describe('publish every processed frame\'s detections (QoS 0) to <prefix>/<device>/<camera>/detections'),
      // A floor, not only > 0: 0.000001 s once made 8,864 stats messages in 12 s.
      statsIntervalSeconds: z.number().min(1, 'must be at least 1 (seconds between stats messages)').default(10),
    })
    .superRefine((value: unknown, refinement) => {
      if (!isRecord(value)) return;
      if (value.password !== undefined && value.username === undefined) {
        refinement.addIssue({ code: 'custom', path: ['username'], message: 'is required when a password is given' });
      }
      // mqtt.js negotiates TLS from the URL scheme alone; tls options beside mqtt:// would be silently ignored.
      if (value.tls !== undefined && typeof value.url === 'string' && /^(mqtt|ws):/i.test(value.url)) {
        refinement.addIssue({ code: 'custom', path: ['url'], message: 'tls options are set, so use mqtts:// or wss:// (with mqtt:// they would be ignored)' });
      }
    }, ALWAYS);
}

/**
 * Whether the user named a broker. Only then does the agent refuse to fall back to its embedded
 * broker: a section that sets nothing but, say, `prefix` or `publishDetections` names no broker,
 * and the out-of-the-box experience should not change because of it.
 */
export function namesBroker(rawMqtt: unknown): boolean {
  if (!isRecord(rawMqtt)) return false;
  return ['url', 'username', 'password', 'tls'].some((key) => rawMqtt[key] !== undefined);
}
