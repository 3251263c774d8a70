import { z } from 'zod';
import { createConfigSchema } from './schema/agent.js';
import { createHubConfigSchema } from './schema/hub.js';

export type JsonSchema = Record<string, unknown>;

/**
 * The JSON Schema (draft 2020-12) of a config file, generated from the zod schema the loader
 * uses. It describes what a file may say (the input side): fields with defaults are optional and
 * show their default; defaults that depend on the machine (device id, state dir) are described.
 * Editors use it for completion: `# yaml-language-server: $schema=kestrel.schema.json`.
 */
export function configJsonSchema(): JsonSchema {
  // The context only feeds transforms, which the input side of the schema does not show.
  const schema = createConfigSchema({ baseDir: '/', cwd: '/', deviceId: 'kestrel', stateDir: '/var/lib/kestrel' });
  return {
    ...z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'input', unrepresentable: 'any' }),
    title: 'Kestrel agent configuration',
    description: 'kestrel agent --config <file>; check a file with `kestrel config check <file>`',
  };
}

/** The same for the hub's config (hub.yaml): `kestrel config schema --hub`. */
export function hubConfigJsonSchema(): JsonSchema {
  const schema = createHubConfigSchema({ baseDir: '/', cwd: '/', deviceId: 'hub', stateDir: '/' });
  return {
    ...z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'input', unrepresentable: 'any' }),
    title: 'Kestrel hub configuration',
    description: 'kestrel hub --config <file>; check a file with `kestrel config check --hub <file>`',
  };
}
