import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import { KestrelError } from '@kestrel/core';
import { bindProblem } from '@kestrel/config/bind';
import type { ConfigContext } from '@kestrel/config/context';
import { substituteEnv } from '@kestrel/config/env';
import { formatIssue, fromZodIssue, type ConfigIssue } from '@kestrel/config/issues';
import { knownKeysAt } from '@kestrel/config/keys';
import { ALWAYS, backoff, byteSize, existingFile, filePath, isRecord, positiveInt, text } from '@kestrel/config/schema/common';
import { brokerUrl, topicPrefix } from '@kestrel/config/schema/mqtt';
import { parseYaml } from '@kestrel/config/yaml';

/**
 * The hub's configuration (hub.yaml), declared once with zod in the same style as the agent's:
 * every default here, errors that name the path and the line.
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
      clientId: text.max(128).default('kestrel-hub').describe('fixed, so the broker keeps the hub\'s session (queued samples) while it is away'),
      ca: existingFile(ctx).optional(),
      rejectUnauthorized: z.boolean().default(true),
      samples: z.boolean().default(false).describe('also ingest samples published on <prefix>/+/samples (agents with upload.transport mqtt)'),
      reconnect: backoff({ minMs: 1000, maxMs: 30_000 }).prefault({}),
    });
}

export function createHubConfigSchema(ctx: ConfigContext) {
  return z
    .strictObject({
      bind: z
        .string()
        .superRefine((value, refinement) => {
          const problem = bindProblem(value);
          if (problem) refinement.addIssue({ code: 'custom', message: problem });
        })
        .default(DEFAULT_HUB_BIND)
        .describe('host:port of the HTTP(S) API; 0.0.0.0:8470 for devices on other machines'),
      dataDir: filePath(ctx).default(resolve(ctx.baseDir, 'hub-data')).describe('where the database and the blob folder live by default'),
      records: z
        .strictObject({ type: z.literal('sqlite').default('sqlite'), path: filePath(ctx).optional().describe('default: <dataDir>/hub.sqlite') })
        .prefault({}),
      blobs: z
        .strictObject({ type: z.literal('filesystem').default('filesystem'), path: filePath(ctx).optional().describe('default: <dataDir>/blobs') })
        .prefault({}),
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
      log: z.strictObject({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info') }).prefault({}),
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
    .transform((config) => ({
      ...config,
      records: { ...config.records, path: config.records.path ?? join(config.dataDir, 'hub.sqlite') },
      blobs: { ...config.blobs, path: config.blobs.path ?? join(config.dataDir, 'blobs') },
    }));
}

export type HubConfig = z.output<ReturnType<typeof createHubConfigSchema>>;
export type HubConfigInput = z.input<ReturnType<typeof createHubConfigSchema>>;

/**
 * Reads and validates a hub config file (`${VAR}` references resolved from `env`); with no path,
 * the defaults with data in ./hub-data. Throws `KestrelError('E_CONFIG')` listing every problem.
 */
export function loadHubConfig(path?: string, env: Record<string, string | undefined> = process.env, cwd = process.cwd()): HubConfig {
  const file = path === undefined ? null : resolve(cwd, path);
  let textValue = '';
  if (file) {
    try {
      textValue = readFileSync(file, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new KestrelError('E_CONFIG', `hub config ${file} ${code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? (err as Error).message})`}`);
    }
  }
  return parseHubConfig(textValue, { name: file ?? 'the built-in hub defaults', baseDir: file ? dirname(file) : cwd, env, cwd });
}

/** Validates hub config YAML text. */
export function parseHubConfig(yamlText: string, options: { name: string; baseDir: string; env?: Record<string, string | undefined>; cwd?: string }): HubConfig {
  const parsed = parseYaml(yamlText);
  const fail = (issues: ConfigIssue[]): never => {
    const count = issues.length === 1 ? '1 error' : `${issues.length} errors`;
    throw new KestrelError('E_CONFIG', `hub config ${options.name} has ${count}:\n${issues.map((i) => `  ${formatIssue(i)}`).join('\n')}`, { errors: issues });
  };
  if (parsed.value === undefined) fail(parsed.issues);
  const raw = parsed.value ?? {};
  if (!isRecord(raw)) fail([{ path: '', message: 'the hub config must be a mapping of settings (bind, dataDir, mqtt, ...), not a list or a single value' }]);
  const issues: ConfigIssue[] = [];
  const substituted = substituteEnv(raw, options.env ?? process.env, issues);
  const ctx: ConfigContext = { baseDir: options.baseDir, cwd: options.cwd ?? process.cwd(), deviceId: 'hub', stateDir: options.baseDir };
  const schema = createHubConfigSchema(ctx);
  const result = schema.safeParse(substituted);
  if (!result.success) {
    const known = (segments: (string | number)[]) => knownKeysAt(schema, substituted, segments);
    for (const zodIssue of result.error.issues) issues.push(...fromZodIssue(zodIssue, substituted, known));
  }
  if (issues.length) {
    fail(issues.map(({ segments, ...issue }) => ({ ...issue, ...(segments ? parsed.locate(segments) : {}) })));
  }
  return result.data!;
}
