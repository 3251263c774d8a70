import { z } from 'zod';
import { KestrelError } from '../util/errors.js';
import { PAYLOAD_FORMATS, PAYLOAD_SCHEMAS, PAYLOAD_VERSIONS, type PayloadOf, type VersionedTopicKind } from './payloads.js';
import { TOPIC_KINDS, type TopicKind } from './topics.js';

/**
 * Turning payloads into bytes and back. Reading is strict about what matters (JSON, version,
 * required fields, types) because payloads arrive from a network; one bad message becomes a
 * KestrelError the caller counts and logs, never a crash.
 */

const MAX_ISSUES_IN_MESSAGE = 5;
const utf8 = new TextDecoder();

/**
 * The bytes to publish for a payload: plain text kinds as they are (a count as decimal), binary
 * kinds (a snapshot's JPEG) as the buffer they are, JSON for the rest; an empty discovery payload stays empty.
 */
export function encodePayload<K extends TopicKind>(kind: K, payload: PayloadOf<K>): EncodedPayload<K> {
  return encodeAny(kind, payload) as EncodedPayload<K>;
}

/** A Buffer for the binary kinds, text for every other. */
export type EncodedPayload<K extends TopicKind> = (typeof PAYLOAD_FORMATS)[K] extends 'binary' ? Buffer : string;

function encodeAny(kind: TopicKind, payload: unknown): string | Buffer {
  const format = PAYLOAD_FORMATS[kind];
  if (format === 'binary') return payload as Buffer;
  if (format === 'text') return String(payload);
  if (format === 'foreign-json' && payload === '') return '';
  return JSON.stringify(payload);
}

/**
 * A received payload, validated against its topic kind's schema. Throws
 * `KestrelError('E_PAYLOAD')` naming the kind and the bad field; `details` has `kind` and `issues`.
 */
export function parsePayload<K extends TopicKind>(kind: K, payload: Uint8Array | string): PayloadOf<K> {
  const schema = PAYLOAD_SCHEMAS[kind] as z.ZodType as z.ZodType<PayloadOf<K>>;
  if (schema === undefined) throw new KestrelError('E_PAYLOAD', `unknown topic kind "${String(kind)}" (known: ${TOPIC_KINDS.join(', ')})`);
  const format = PAYLOAD_FORMATS[kind];
  if (format === 'binary') {
    const bytes = typeof payload === 'string' ? Buffer.from(payload) : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
    const result = schema.safeParse(bytes);
    if (result.success) return result.data;
    throw payloadError(kind, result.error.issues[0]?.message ?? 'not what the kind carries', []);
  }
  const textValue = typeof payload === 'string' ? payload : utf8.decode(payload);
  let value: unknown = textValue;
  if (format === 'json' || (format === 'foreign-json' && textValue !== '')) {
    try {
      value = JSON.parse(textValue);
    } catch (err) {
      throw payloadError(kind, `not valid JSON (${(err as Error).message})`, []);
    }
    if (format === 'json') checkVersion(kind as VersionedTopicKind, value);
  }
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => ({ path: formatPath(issue.path), message: issue.message }));
  const listed = issues.slice(0, MAX_ISSUES_IN_MESSAGE).map((i) => (i.path ? `${i.path}: ${i.message}` : i.message));
  const more = issues.length > MAX_ISSUES_IN_MESSAGE ? ` (and ${issues.length - MAX_ISSUES_IN_MESSAGE} more)` : '';
  throw payloadError(kind, listed.join('; ') + more, issues);
}

/** A version mismatch is reported as such, not as a pile of field errors from the wrong schema. */
function checkVersion(kind: VersionedTopicKind, value: unknown): void {
  const readable = PAYLOAD_VERSIONS[kind];
  const expected = readable.join(' or ');
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw payloadError(kind, `expected a JSON object, got ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}`, []);
  }
  const version = (value as { schema?: unknown }).schema;
  if (version === undefined) throw payloadError(kind, `schema: missing (expected schema version ${expected})`, [{ path: 'schema', message: 'missing' }]);
  if (typeof version !== 'number' || !readable.includes(version)) {
    throw payloadError(kind, `schema: version ${JSON.stringify(version)} is not supported (this version of Kestrel reads ${expected})`, [
      { path: 'schema', message: 'unsupported version' },
    ]);
  }
}

function payloadError(kind: TopicKind, what: string, issues: { path: string; message: string }[]): KestrelError {
  return new KestrelError('E_PAYLOAD', `invalid ${kind} payload: ${what}`, { kind, issues });
}

/** `cameras.front.fps`, `detections[2].box` — the same path style as config errors. */
function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out ? `.${String(key)}` : String(key);
  }
  return out;
}

export type JsonSchema = Record<string, unknown>;

/**
 * A JSON Schema (draft 2020-12) per topic kind, generated from the zod schemas. Objects allow
 * additional properties, as readers do (a newer writer may add fields).
 */
export function payloadJsonSchemas(): Record<TopicKind, JsonSchema> {
  const out = {} as Record<TopicKind, JsonSchema>;
  for (const kind of TOPIC_KINDS) {
    // Bytes, not JSON: JSON Schema can only name the media type.
    if (PAYLOAD_FORMATS[kind] === 'binary') {
      out[kind] = { contentMediaType: 'image/jpeg', title: `Kestrel MQTT ${kind} payload`, description: 'raw JPEG bytes' };
      continue;
    }
    out[kind] = {
      ...z.toJSONSchema(PAYLOAD_SCHEMAS[kind], { target: 'draft-2020-12', io: 'input', unrepresentable: 'any' }),
      title: `Kestrel MQTT ${kind} payload`,
    };
  }
  return out;
}
