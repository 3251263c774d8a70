import { PassThrough, Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
  type S3ServiceException,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { KestrelError } from '@kestrel/core';
import type { S3BlobsConfig } from '@kestrel/config/schema/hub-stores';
import { assertBlobKey } from './blob-key.js';
import { storeUnavailable } from './errors.js';
import type { BlobStore, OpenBlob } from './types.js';
import { singleStreamBlob } from './open-blob.js';

/** Parts of a multipart upload: a stream is held one part at a time per upload, never whole. */
const PART_BYTES = 8 * 2 ** 20;
const PARTS_IN_FLIGHT = 2;

const UNAVAILABLE_ERRNO = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ECONNABORTED']);
const UNAVAILABLE_NAMES = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException', 'NetworkingError', 'ServiceUnavailable', 'SlowDown', 'InternalError']);

function statusOf(err: unknown): number | undefined {
  return (err as Partial<S3ServiceException>).$metadata?.httpStatusCode;
}

function isUnavailable(err: unknown): boolean {
  const status = statusOf(err);
  if (status !== undefined && status >= 500) return true;
  const { code, name } = err as { code?: unknown; name?: unknown };
  if (typeof code === 'string' && UNAVAILABLE_ERRNO.has(code)) return true;
  if (typeof name === 'string' && UNAVAILABLE_NAMES.has(name)) return true;
  // Node's socket errors arrive wrapped (AggregateError for every address tried).
  const errors = (err as { errors?: unknown[] }).errors;
  return Array.isArray(errors) && errors.some(isUnavailable);
}

function isNotFound(err: unknown): boolean {
  const name = (err as { name?: unknown }).name;
  return statusOf(err) === 404 || name === 'NoSuchKey' || name === 'NotFound';
}

/**
 * The BlobStore on S3-compatible object storage. Writes go up as one PUT or, past one part,
 * as a multipart upload (an object appears whole when it completes, or not at all); reads are
 * streamed GETs with HTTP ranges, so serving an artifact never holds it in memory.
 */
export class S3BlobStore implements BlobStore {
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly where: string;

  constructor(config: Pick<S3BlobsConfig, 'bucket' | 'endpoint' | 'region' | 'forcePathStyle' | 'credentials'>) {
    this.bucket = config.bucket;
    this.where = `the S3 bucket ${config.bucket}${config.endpoint ? ` at ${config.endpoint}` : ''}`;
    this.client = new S3Client({
      region: config.region,
      forcePathStyle: config.forcePathStyle,
      ...(config.endpoint ? { endpoint: config.endpoint } : {}),
      // A copy: the SDK marks the object it is given (a $source field), and the config is the caller's.
      ...(config.credentials ? { credentials: { ...config.credentials } } : {}),
      // Bounded: an object store that stopped answering fails a request within seconds (503)
      // instead of holding it, and the connection, for minutes.
      requestHandler: { connectionTimeout: 5000, requestTimeout: 30_000, throwOnRequestTimeout: true },
      maxAttempts: 3,
    });
  }

  /** Fails early, at start, when the bucket is missing or the credentials are refused. */
  async check(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
    } catch (err) {
      const status = statusOf(err);
      if (status === 404) throw new KestrelError('E_HUB_STORE', `${this.where} does not exist: create it, or name another in blobs.bucket`);
      if (status === 403 || status === 401) throw new KestrelError('E_HUB_STORE', `${this.where} refused these credentials (HTTP ${status}): check blobs.credentials`);
      throw this.translate(err);
    }
  }

  private translate(err: unknown): unknown {
    if (err instanceof KestrelError) return err;
    return isUnavailable(err) ? storeUnavailable(this.where, err) : err;
  }

  async put(key: string, data: Buffer | Readable): Promise<void> {
    assertBlobKey(key);
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: key, Body: data },
      partSize: PART_BYTES,
      queueSize: PARTS_IN_FLIGHT,
      // A failed multipart upload is aborted, so its parts do not linger (and cost) in the bucket.
      leavePartsOnError: false,
    });
    try {
      await upload.done();
    } catch (err) {
      throw this.translate(err);
    }
  }

  async get(key: string): Promise<Buffer | undefined> {
    assertBlobKey(key);
    try {
      const answer = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return Buffer.from(await answer.Body!.transformToByteArray());
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw this.translate(err);
    }
  }

  async open(key: string): Promise<OpenBlob | undefined> {
    assertBlobKey(key);
    let head;
    try {
      head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw this.translate(err);
    }
    const size = head.ContentLength ?? 0;
    const etag = head.ETag;
    // Nothing is held until a stream is taken.
    return singleStreamBlob(key, size, (range) => this.streamObject(key, etag, range));
  }

  /**
   * A readable that is there at once (callers hand it to a reply) and fills from a GET. The
   * object must still be the one opened (its ETag): a replaced object fails the stream rather
   * than serve bytes of another size. A reader that goes away aborts the GET.
   */
  private streamObject(key: string, etag: string | undefined, range?: { start: number; end: number }): Readable {
    const out = new PassThrough();
    const abort = new AbortController();
    out.once('close', () => abort.abort());
    void (async () => {
      const answer = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: key, ...(etag ? { IfMatch: etag } : {}), ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}) }),
        { abortSignal: abort.signal },
      );
      if (etag && answer.ETag && answer.ETag !== etag) {
        (answer.Body as Readable | undefined)?.destroy();
        throw new KestrelError('E_HUB_STORE', `blob "${key}" was replaced after it was opened`);
      }
      const body = answer.Body as Readable;
      // A server that answers another range than asked (s3rver sends everything for "bytes=0-0")
      // is cut to the asked range here rather than serve the wrong bytes.
      const sent = range && /^bytes (\d+)-(\d+)\//.exec(answer.ContentRange ?? '');
      const sentStart = sent ? Number(sent[1]) : 0;
      if (range && (sentStart !== range.start || answer.ContentLength !== range.end - range.start + 1)) {
        if (sentStart > range.start) throw new KestrelError('E_HUB_STORE', `blob "${key}": asked for bytes ${range.start}-${range.end}, the store sent ${answer.ContentRange}`);
        await pipeline(body, rangeOf(range.start - sentStart, range.end - range.start + 1), out);
      } else await pipeline(body, out);
    })().catch((err: unknown) => {
      if (!out.destroyed) out.destroy(this.translate(err) as Error);
    });
    return out;
  }

  async delete(key: string): Promise<void> {
    assertBlobKey(key);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
    } catch (err) {
      throw this.translate(err);
    }
  }

  async modifiedAt(key: string): Promise<number | undefined> {
    assertBlobKey(key);
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return head.LastModified?.getTime();
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw this.translate(err);
    }
  }

  async *list(prefix: string): AsyncIterable<string> {
    let token: string | undefined;
    do {
      let page;
      try {
        page = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }));
      } catch (err) {
        throw this.translate(err);
      }
      for (const object of page.Contents ?? []) if (object.Key) yield object.Key;
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}

/** Passes `take` bytes after the first `skip`, then ends (the rest of the source is dropped). */
function rangeOf(skip: number, take: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      const from = Math.max(0, skip - seen);
      const to = Math.min(chunk.length, skip + take - seen);
      seen += chunk.length;
      done(null, from < to ? chunk.subarray(from, to) : undefined);
    },
  });
}
