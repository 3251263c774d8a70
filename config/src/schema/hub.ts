import { resolve } from 'node:path';
import { z } from 'zod';
import type { ConfigContext } from '../context.js';
import { ALWAYS, backoff, bindAddress, byteSize, existingFile, filePath, isRecord, logSection, positiveInt, text } from './common.js';
import { blobsSchema, recordsSchema, withStorePaths } from './hub-stores.js';
import { brokerUrl, topicPrefix } from './mqtt.js';

/**
 * The hub's configuration (hub.yaml), declared once beside the agent's and from the same parts:
 * every default here, read by the same loader, errors that name the path and the line.
 * config/examples/hub.example.yaml shows every key.
 */

export const DEFAULT_HUB_BIND = '127.0.0.1:8470';

function tls(ctx: ConfigContext) {
  return z.strictObject({
    cert: existingFile(ctx).describe('PEM certificate (chain) the hub serves HTTPS with'),
    key: existingFile(ctx).describe('PEM private key of the certificate'),
  });
}

function mqtt(ctx: ConfigContext) {
  return z
    .strictObject({
      enabled: z.boolean().default(true).describe('follow the fleet\'s retained status/state topics (kestrel hub devices)'),
      url: brokerUrl,
      prefix: topicPrefix,
      username: text.optional(),
      password: z.string().optional(),
      clientId: text.max(100).default('kestrel-hub').describe('the broker sees <clientId>-<replica>: fixed per replica, so the broker keeps each replica\'s session (queued samples) while it is away'),
      shareGroup: z
        .string()
        .regex(/^[^/+#]*$/, 'a shared subscription group may not contain /, + or #')
        .max(64)
        .default('kestrel-hub')
        .describe('fleet topics are subscribed as $share/<group>/...: replicas of one group each get a share of the messages, so each is handled once; "" subscribes plainly'),
      ca: existingFile(ctx).optional(),
      rejectUnauthorized: z.boolean().default(true),
      samples: z.boolean().default(false).describe('also ingest samples published on <prefix>/+/samples (agents with upload.transport mqtt)'),
      sessions: z
        .number()
        .int()
        .min(1)
        .max(16)
        .default(1)
        .describe('fleet-topic sessions this replica opens, each a member of the shared group (client ids <clientId>-<replica>, then -1, -2, ...): each handles one message at a time, so fleet throughput grows with sessions while the store keeps up'),
      reconnect: backoff({ minMs: 1000, maxMs: 30_000 }).prefault({}),
    });
}

export function createHubConfigSchema(ctx: ConfigContext) {
  return z
    .strictObject({
      bind: bindAddress.default(DEFAULT_HUB_BIND).describe('host:port of the HTTP(S) API; 0.0.0.0:8470 for devices on other machines'),
      dataDir: filePath(ctx).default(resolve(ctx.baseDir, 'hub-data')).describe('where the database and the blob folder live by default (default: hub-data beside the config file)'),
      records: recordsSchema(ctx),
      blobs: blobsSchema(ctx),
      tls: tls(ctx).optional().describe('serve HTTPS (devices then use an https:// upload URL)'),
      limits: z
        .strictObject({
          maxBodyBytes: byteSize.default(32 * 2 ** 20).describe('largest request body (one batch of samples, base64 images included)'),
          maxImageBytes: byteSize.default(4 * 2 ** 20).describe('largest JPEG of one sample'),
          maxImagePixels: positiveInt.max(2 ** 28).default(4096 * 4096).describe('largest image in pixels, read from its header before it is decoded (a decode holds 3 bytes a pixel)'),
          maxBatchPixels: positiveInt.default(2 ** 27).describe('pixels of all images of one request together'),
          maxBatch: positiveInt.max(1000).default(64).describe('most samples in one request'),
          maxDetections: positiveInt.default(1000).describe('most detections per sample'),
          decodeSlots: positiveInt.max(64).default(2).describe('JPEG decodes at once; peak image memory is about decodeSlots × maxImagePixels × 3 bytes'),
          decodeWaiting: z.number().int().min(0).max(10_000).default(32).describe('uploads that may wait for a decode slot; more are answered 503 E_HUB_BUSY'),
        })
        .prefault({}),
      timeouts: z
        .strictObject({
          idleSeconds: z.number().min(1).max(3600).default(30).describe('a connection with no bytes either way for this long is closed'),
          headersSeconds: z.number().min(1).max(600).default(20).describe('time a client has to send its request line and headers'),
          requestSeconds: z.number().min(1).max(3600).default(120).describe('time a client has to send a whole request, body included (a slow-body client is cut off)'),
        })
        .prefault({}),
      mqtt: mqtt(ctx).prefault({}),
      replica: text
        .max(27)
        .regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, "_", "-" or "."')
        .optional()
        .describe('this replica\'s name (default: the host name): the MQTT client id suffix and the rollout lease holder; set it when several replicas run on one host'),
      rollouts: z
        .strictObject({
          leaseSeconds: z.number().min(1).max(300).default(6).describe('how long a replica\'s claim on a rollout lasts unless renewed (it renews every tickMs); another replica takes over a claim that expired'),
          tickMs: z.number().int().min(100).max(60_000).default(1000).describe('how often a replica looks for rollouts to drive and advances them'),
        })
        .prefault({}),
      review: z
        .strictObject({
          classes: z
            .array(text.max(64))
            .min(1)
            .refine((list) => new Set(list).size === list.length, 'lists a class twice')
            .optional()
            .describe('the only class names a review may use; default: any name of 1 to 64 characters'),
        })
        .prefault({}),
      log: logSection.prefault({}),
    })
    .superRefine((value: unknown, refinement) => {
      if (!isRecord(value) || !isRecord(value.limits)) return;
      const { maxBodyBytes, maxImageBytes } = value.limits;
      if (typeof maxBodyBytes === 'number' && typeof maxImageBytes === 'number' && maxImageBytes * 1.34 > maxBodyBytes) {
        refinement.addIssue({ code: 'custom', path: ['limits', 'maxBodyBytes'], message: `must leave room for one base64 image of maxImageBytes (${maxImageBytes}): at least ${Math.ceil(maxImageBytes * 1.34)}` });
      }
      const { maxImagePixels, maxBatchPixels } = value.limits;
      if (typeof maxImagePixels === 'number' && typeof maxBatchPixels === 'number' && maxBatchPixels < maxImagePixels) {
        refinement.addIssue({ code: 'custom', path: ['limits', 'maxBatchPixels'], message: `must be at least maxImagePixels (${maxImagePixels}), or the largest image allowed could never be sent` });
      }
      if (isRecord(value.timeouts)) {
        const { headersSeconds, requestSeconds } = value.timeouts;
        if (typeof headersSeconds === 'number' && typeof requestSeconds === 'number' && headersSeconds > requestSeconds) {
          refinement.addIssue({ code: 'custom', path: ['timeouts', 'headersSeconds'], message: `must not be longer than timeouts.requestSeconds (${requestSeconds}): the headers are part of the request` });
        }
      }
    }, ALWAYS)
    .transform((config) => ({ ...config, ...withStorePaths(config.records, config.blobs, config.dataDir) }));
}

export type HubConfigSchema = ReturnType<typeof createHubConfigSchema>;
/** The hub's configuration with every default filled in. */
export type HubConfig = z.output<HubConfigSchema>;
/** What a hub config file may say (every field with a default is optional). */
export type HubConfigInput = z.input<HubConfigSchema>;
