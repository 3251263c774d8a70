import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { SampleSchema, type Logger, type Sample } from '@kestrel/core';
import { formatPath } from '@kestrel/config/issues';
import { sampleKey, type BlobStore, type InsertOutcome, type RecordStore, type SampleRecord } from '../store/types.js';
import { isStoreUnavailable } from '../store/errors.js';
import { checkJpegHeader, decodeJpeg } from './image-check.js';
import { DecodeSlots } from './decode-slots.js';

export interface IngestLimits {
  maxImageBytes: number;
  /** Pixels of one image, from its header, before anything is decoded. */
  maxImagePixels: number;
  /** Pixels of every image of one request together. */
  maxBatchPixels: number;
  maxBatch: number;
  maxDetections: number;
  /** JPEG decodes at once across all requests, and how many may wait for one. */
  decodeSlots: number;
  decodeWaiting: number;
}

/** A refused request: HTTP status, a stable code, and a message naming what is wrong. */
export class IngestError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'IngestError';
  }
}

export interface IngestResult {
  results: { id: string; status: InsertOutcome }[];
}

const MAX_ISSUES = 5;

/**
 * Sample ingest, for HTTP batches and MQTT messages alike. A batch is checked whole — schema,
 * device, sizes, every JPEG decoded — before anything is written; then the JPEGs go to the blob
 * store and the rows into the record store in one transaction. So a bad batch stores nothing,
 * and a crash between the two leaves only unreferenced blobs, which the start-up repair removes.
 * Idempotent: a (device, id) already stored is answered `duplicate` and not written again.
 */
export class SampleIngest {
  private readonly decodes: DecodeSlots;

  constructor(
    private readonly deps: { records: RecordStore; blobs: BlobStore; limits: IngestLimits; logger: Logger; now?: () => number },
  ) {
    this.decodes = new DecodeSlots(deps.limits.decodeSlots, deps.limits.decodeWaiting);
  }

  /** Decodes running and waiting now, and how many were refused because the line was full. */
  decodeStats(): ReturnType<DecodeSlots['stats']> {
    return this.decodes.stats();
  }

  /** `body` as received: `{ samples: [...] }`, from `deviceId` (the authenticated device). */
  async ingestBatch(deviceId: string, body: unknown): Promise<IngestResult> {
    const { limits } = this.deps;
    if (typeof body !== 'object' || body === null || Array.isArray(body) || !Array.isArray((body as { samples?: unknown }).samples)) {
      throw new IngestError(400, 'E_INGEST_SCHEMA', 'the body must be a JSON object { "samples": [ ... ] }');
    }
    const items = (body as { samples: unknown[] }).samples;
    if (items.length === 0) throw new IngestError(400, 'E_INGEST_SCHEMA', 'samples: the batch is empty');
    if (items.length > limits.maxBatch) throw new IngestError(413, 'E_INGEST_TOO_LARGE', `samples: ${items.length} samples in one batch; this hub takes at most ${limits.maxBatch}`);
    const samples = items.map((item, index) => parseSample(item, `samples[${index}]`));
    return this.store(deviceId, samples);
  }

  /** One sample from MQTT (`<prefix>/<device>/samples`): the topic names the device. */
  async ingestOne(deviceId: string, item: unknown): Promise<IngestResult> {
    return this.store(deviceId, [parseSample(item, 'sample')]);
  }

  private async store(deviceId: string, samples: { sample: Sample; where: string }[]): Promise<IngestResult> {
    const { records, blobs, limits } = this.deps;
    const seen = new Map<string, string>();
    const headed: { sample: Sample; where: string; jpeg: Buffer; imageSize: [number, number] }[] = [];
    let batchPixels = 0;
    // First everything that costs nothing: schema, ownership, sizes and each JPEG's header. Only
    // a batch that passes all of it gets decoded.
    for (const { sample, where } of samples) {
      if (sample.deviceId !== deviceId) {
        throw new IngestError(403, 'E_INGEST_DEVICE', `${where}.deviceId: "${sample.deviceId}" is not the device this token belongs to ("${deviceId}")`);
      }
      const earlier = seen.get(sample.id);
      if (earlier) throw new IngestError(400, 'E_INGEST_SCHEMA', `${where}.id: "${sample.id}" appears twice in the batch (also at ${earlier})`);
      seen.set(sample.id, where);
      if (sample.detections.length > limits.maxDetections) {
        throw new IngestError(413, 'E_INGEST_TOO_LARGE', `${where}.detections: ${sample.detections.length} detections; this hub takes at most ${limits.maxDetections}`);
      }
      const jpeg = Buffer.from(sample.image.data, 'base64');
      if (jpeg.length > limits.maxImageBytes) {
        throw new IngestError(413, 'E_INGEST_TOO_LARGE', `${where}.image: ${jpeg.length} bytes; this hub takes images up to ${limits.maxImageBytes} bytes`);
      }
      const header = checkJpegHeader(jpeg, limits.maxImagePixels);
      if (!header.ok) {
        const tooLarge = header.reason.includes('limits.maxImagePixels');
        throw new IngestError(tooLarge ? 413 : 400, tooLarge ? 'E_INGEST_TOO_LARGE' : 'E_INGEST_IMAGE', `${where}.image.data: ${header.reason}; nothing of this batch was stored`);
      }
      const imageSize: [number, number] = [header.info.width, header.info.height];
      if (sample.imageSize && (sample.imageSize[0] !== imageSize[0] || sample.imageSize[1] !== imageSize[1])) {
        throw new IngestError(400, 'E_INGEST_IMAGE', `${where}.imageSize: says ${sample.imageSize.join('×')}, the JPEG is ${imageSize.join('×')}`);
      }
      batchPixels += imageSize[0] * imageSize[1];
      if (batchPixels > limits.maxBatchPixels) {
        throw new IngestError(413, 'E_INGEST_TOO_LARGE', `${where}.image: the batch's images reach ${batchPixels} pixels here; this hub takes up to ${limits.maxBatchPixels} pixels in one request (limits.maxBatchPixels): send fewer samples per batch`);
      }
      headed.push({ sample, where, jpeg, imageSize });
    }

    const checked: { record: SampleRecord; jpeg: Buffer }[] = [];
    for (const { sample, where, jpeg, imageSize } of headed) {
      const decoded = await this.decodes.run(() => decodeJpeg(jpeg, limits.maxImagePixels));
      if (!decoded) {
        this.deps.logger.warn({ device: deviceId, ...this.decodes.stats() }, 'sample batch refused: every image decode slot is busy');
        throw new IngestError(503, 'E_HUB_BUSY', `the hub is decoding as many images as it allows (limits.decodeSlots ${limits.decodeSlots}, ${limits.decodeWaiting} waiting); nothing of this batch was stored, send it again shortly`);
      }
      const check = decoded.value;
      if (!check.ok) throw new IngestError(400, 'E_INGEST_IMAGE', `${where}.image.data: ${check.reason}; nothing of this batch was stored`);
      if (check.info.width !== imageSize[0] || check.info.height !== imageSize[1]) {
        throw new IngestError(400, 'E_INGEST_IMAGE', `${where}.image.data: its header says ${imageSize.join('×')} but it decodes to ${check.info.width}×${check.info.height}; nothing of this batch was stored`);
      }
      checked.push({ record: toRecord(sample, imageSize, jpeg.length, this.deps.now?.() ?? Date.now()), jpeg });
    }

    const existing = await records.existingSamples(checked.map(({ record }) => record));
    const fresh = checked.filter(({ record }) => !existing.has(sampleKey(record.deviceId, record.id)));
    const written: string[] = [];
    try {
      for (const { record, jpeg } of fresh) {
        await blobs.put(record.blobKey, jpeg);
        written.push(record.blobKey);
      }
      const outcomes = await records.insertSamples(fresh.map((f) => f.record));
      // A parallel upload of the same id won the insert: this upload's image is nobody's. Each
      // upload writes its own blob key, so removing it never touches the winner's image.
      const lost = fresh.filter((_, i) => outcomes[i] !== 'stored').map((f) => f.record.blobKey);
      await Promise.allSettled(lost.map((key) => blobs.delete(key)));
      const byKey = new Map(fresh.map((f, i) => [sampleKey(f.record.deviceId, f.record.id), outcomes[i]]));
      const results = checked.map(({ record }) => ({ id: record.id, status: byKey.get(sampleKey(record.deviceId, record.id)) ?? ('duplicate' as const) }));
      const stored = results.filter((r) => r.status === 'stored').length;
      this.deps.logger.info({ device: deviceId, stored, duplicates: results.length - stored }, 'samples received');
      return { results };
    } catch (err) {
      // Nothing of a failed batch stays: its new blobs go (rows were one transaction).
      await Promise.allSettled(written.map((key) => blobs.delete(key)));
      this.deps.logger.error({ err: (err as Error).message, device: deviceId }, 'storing samples failed');
      if (isStoreUnavailable(err)) throw new IngestError(503, err.code, `nothing of this batch was stored: ${err.message}`);
      throw new IngestError(500, 'E_INGEST_STORE', `the hub could not store the batch (${(err as Error).message}); send it again later`);
    }
  }
}

function parseSample(item: unknown, where: string): { sample: Sample; where: string } {
  const version = typeof item === 'object' && item !== null ? (item as { schema?: unknown }).schema : undefined;
  if (version !== undefined && version !== 1) {
    throw new IngestError(400, 'E_INGEST_SCHEMA', `${where}.schema: version ${JSON.stringify(version)} is not supported (this hub reads 1)`);
  }
  const result = SampleSchema.safeParse(item);
  if (!result.success) throw new IngestError(400, 'E_INGEST_SCHEMA', describeIssues(result.error, where));
  return { sample: result.data, where };
}

function describeIssues(error: z.ZodError, where: string): string {
  const lines = error.issues.map((issue) => {
    const path = formatPath(issue.path.filter((p): p is string | number => typeof p === 'string' || typeof p === 'number'));
    const message = issue.code === 'invalid_type' && issue.input === undefined ? `is required (${issue.expected})` : issue.message;
    return `${where}${path ? (path.startsWith('[') ? path : `.${path}`) : ''}: ${message}`;
  });
  const more = lines.length > MAX_ISSUES ? ` (and ${lines.length - MAX_ISSUES} more)` : '';
  return lines.slice(0, MAX_ISSUES).join('; ') + more;
}

function toRecord(s: Sample, imageSize: [number, number], bytes: number, receivedAt: number): SampleRecord {
  const label = (d: { label: string; score: number; box: [number, number, number, number] }) => ({ label: d.label, score: d.score, box: d.box });
  return {
    deviceId: s.deviceId,
    id: s.id,
    camera: s.camera,
    capturedAt: s.capturedAt,
    receivedAt,
    modelVersion: s.modelVersion,
    reasons: s.reasons,
    detections: s.detections.map(label),
    ...(s.shadow ? { shadow: { modelVersion: s.shadow.modelVersion, detections: s.shadow.detections.map(label) } } : {}),
    frameSize: s.frameSize,
    imageSize,
    ...(s.hash ? { hash: s.hash } : {}),
    // Unique per upload, not per sample id: 12 parallel uploads of one id once wrote one key in
    // turn, and the record of the first served the image of the last.
    blobKey: `samples/${s.deviceId}/${s.id}.${randomUUID()}.jpg`,
    bytes,
  };
}
