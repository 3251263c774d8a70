import { join } from 'node:path';
import { z } from 'zod';
import { DECODERS } from '@kestrel/core/model/metadata';
import { PROVIDERS } from '@kestrel/core/runtime/provider-names';
import type { ConfigContext } from '../context.js';
import { camerasSchema, DEMO_CAMERAS } from './camera.js';
import { ALWAYS, bindAddress, byteSize, existingFile, filePath, logSection, name, positiveInt, text } from './common.js';
import { mqttSchema } from './mqtt.js';
import { updateSchema } from './update.js';
import { samplingSchema } from './sampling.js';
import { homeAssistantSchema } from './homeassistant.js';
import { driftSchema } from './drift.js';

/**
 * The agent's whole configuration, declared once. Every default is here (or, where it depends on
 * the machine, in ConfigContext which this schema reads); the loader, `kestrel config check` and
 * `kestrel config schema` all use this one declaration.
 */

/** The execution providers a config may list: core's list (no ONNX Runtime loaded to know it). */
export const PROVIDER_NAMES = PROVIDERS;

const device = z.strictObject({
  id: name.optional().describe('MQTT topic level of this device (default: the host name, made topic-safe)'),
  name: text.optional().describe('a display name (default: the id)'),
});

function model(ctx: ConfigContext) {
  return z.strictObject({
    path: existingFile(ctx).optional().describe('ONNX model (default: the bundled NanoDet 416)'),
    providers: z
      .array(z.enum(PROVIDER_NAMES))
      .min(1, 'name at least one execution provider')
      .default([...PROVIDER_NAMES])
      .superRefine((list, refinement) => {
        if (!Array.isArray(list)) return;
        list.forEach((provider, index) => {
          if (list.indexOf(provider) !== index) refinement.addIssue({ code: 'custom', path: [index], message: `"${provider}" is listed twice` });
        });
      }, ALWAYS)
      .describe('tried in order; the first that loads the model is used'),
    threads: positiveInt.optional().describe('ONNX Runtime intra-op threads (default: ONNX Runtime chooses)'),
    // For models without kestrel.* metadata (a plain Ultralytics export); they win over metadata when both exist.
    decoder: z.enum(DECODERS).optional(),
    labels: z.array(text).min(1).optional(),
    inputSize: z
      .union([positiveInt, z.tuple([positiveInt, positiveInt])], { error: 'must be a positive whole number (a square side) or [width, height]' })
      .transform((size): [number, number] => (typeof size === 'number' ? [size, size] : size))
      .optional()
      .describe('square side, or [width, height]'),
  });
}

function outbox(ctx: ConfigContext) {
  return z.strictObject({
    path: filePath(ctx).optional().describe('SQLite file of the durable event queue (default: <stateDir>/outbox.sqlite)'),
    maxEvents: positiveInt.default(100_000),
    maxAgeHours: z.number().positive().default(168),
    maxBytes: byteSize.default(64 * 2 ** 20).describe('bytes, or a size such as "64MiB"'),
  });
}

const http = z.strictObject({
  enabled: z.boolean().default(true),
  bind: bindAddress
    // 9464 is the port OpenTelemetry's Prometheus exporter made the habit for /metrics.
    .default('127.0.0.1:9464')
    .describe('host:port for /healthz and /metrics; 0.0.0.0:9464 to reach it from other machines'),
});

export function createConfigSchema(ctx: ConfigContext) {
  return z
    .strictObject({
      device: device.prefault({}),
      mqtt: mqttSchema(ctx).prefault({}),
      model: model(ctx).prefault({}),
      cameras: camerasSchema(ctx).prefault(DEMO_CAMERAS.map((camera) => ({ ...camera, source: { ...camera.source } }))),
      outbox: outbox(ctx).prefault({}),
      http: http.prefault({}),
      stateDir: filePath(ctx).optional().describe('where the outbox and samples live (default: $STATE_DIRECTORY under systemd, else ./.kestrel-state)'),
      log: logSection.prefault({}),
      sampling: samplingSchema(ctx).prefault({}),
      update: updateSchema.prefault({}),
      homeassistant: homeAssistantSchema.prefault({}),
      drift: driftSchema.prefault({}),
    })
    .superRefine((config, refinement) => {
      // A snapshot goes to the hub through the sample buffer and its uploader, which exist only with sampling on.
      if (config.sampling.enabled) return;
      config.cameras.forEach((camera, i) => {
        if (camera.snapshots.upload) refinement.addIssue({ code: 'custom', path: ['cameras', i, 'snapshots', 'upload'], message: 'needs sampling.enabled: true (snapshots travel to the hub with the samples)' });
      });
    })
    .transform((config) => {
      // Defaults that depend on other values or on the machine are filled here, so the output
      // names every value the agent will use (and is itself a valid config).
      const deviceId = config.device.id ?? ctx.deviceId;
      const stateDir = config.stateDir ?? ctx.stateDir;
      return {
        ...config,
        device: { id: deviceId, name: config.device.name ?? deviceId },
        mqtt: { ...config.mqtt, clientId: config.mqtt.clientId ?? `kestrel-${deviceId}` },
        stateDir,
        outbox: { ...config.outbox, path: config.outbox.path ?? join(stateDir, 'outbox.sqlite') },
        sampling: { ...config.sampling, path: config.sampling.path ?? join(stateDir, 'samples') },
      };
    });
}

export type ConfigSchema = ReturnType<typeof createConfigSchema>;
/** The agent's configuration with every default filled in. */
export type AgentConfig = z.output<ConfigSchema>;
/** What a config file may say (every field with a default is optional). */
export type AgentConfigInput = z.input<ConfigSchema>;
export type CameraConfig = AgentConfig['cameras'][number];
export type CameraSource = CameraConfig['source'];
export type MqttConfig = AgentConfig['mqtt'];
export type ModelConfig = AgentConfig['model'];
export type AgentSamplingConfig = AgentConfig['sampling'];
export type HomeAssistantConfig = AgentConfig['homeassistant'];
export type AgentDriftConfig = AgentConfig['drift'];
