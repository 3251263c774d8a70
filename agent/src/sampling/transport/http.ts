import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { readFileSync } from 'node:fs';
import { KestrelError } from '@kestrel/core';
import { toSamplePayload } from './payload.js';
import { TransportError, type OutgoingSample, type SampleTransport, type SendOutcome } from './types.js';

export interface HttpTransportOptions {
  /** The hub's base URL, e.g. https://hub.example.net:8443 */
  url: string;
  token: string;
  deviceId: string;
  /** PEM CA file for a hub with a private certificate. */
  ca?: string;
  rejectUnauthorized?: boolean;
  timeoutMs: number;
}

/** The hub's ingest path (deploy/src/hub/http), relative so a hub behind a proxy path (https://x/kestrel/) works. */
export const SAMPLES_PATH = 'api/v1/samples';

/** What the hub answers to a batch. */
interface IngestAnswer {
  results?: { id: string; status: string; error?: string }[];
  error?: { code?: string; message?: string };
}

/**
 * Batches of samples as one JSON POST to the hub (`{ samples: [...] }`, bearer token). The hub
 * stores a batch whole or not at all, and answers per sample; node's http(s) module rather than
 * fetch, because it takes a private CA directly.
 */
export class HttpTransport implements SampleTransport {
  readonly name = 'http' as const;
  private readonly endpoint: URL;
  private readonly ca?: Buffer;

  constructor(private readonly options: HttpTransportOptions) {
    this.endpoint = new URL(SAMPLES_PATH, options.url.endsWith('/') ? options.url : `${options.url}/`);
    if (options.ca) {
      try {
        this.ca = readFileSync(options.ca);
      } catch (err) {
        throw new KestrelError('E_CONFIG', `sampling.upload.ca: cannot read ${options.ca}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
    }
  }

  async send(samples: readonly OutgoingSample[]): Promise<SendOutcome[]> {
    const body = Buffer.from(JSON.stringify({ samples: samples.map((s) => toSamplePayload(this.options.deviceId, s)) }));
    const { status, text } = await this.post(body);
    let answer: IngestAnswer = {};
    try {
      answer = JSON.parse(text) as IngestAnswer;
    } catch {
      // not JSON (a proxy's error page): the status decides below
    }
    const why = answer.error?.message ?? (text.slice(0, 200) || `HTTP ${status}`);
    if (status === 401 || status === 403) throw new TransportError('auth', `hub refused the token (HTTP ${status}): ${why}`, status);
    if (status === 400 || status === 413 || status === 415 || status === 422) throw new TransportError('refused', `hub refused the batch (HTTP ${status}): ${why}`, status);
    if (status < 200 || status >= 300) throw new TransportError('retry', `hub answered HTTP ${status}: ${why}`, status);
    const results = answer.results;
    if (!Array.isArray(results)) throw new TransportError('retry', `hub answered HTTP ${status} without "results"`, status);
    const byId = new Map(results.map((r) => [r.id, r]));
    return samples.map(({ record }): SendOutcome => {
      const r = byId.get(record.id);
      if (r?.status === 'stored' || r?.status === 'duplicate') return { id: record.id, status: r.status };
      if (r?.status === 'rejected') return { id: record.id, status: 'rejected', error: r.error ?? 'rejected by the hub' };
      // Not confirmed: it stays in the buffer and goes again.
      throw new TransportError('retry', `hub's answer does not confirm sample ${record.id}`, status);
    });
  }

  private post(body: Buffer): Promise<{ status: number; text: string }> {
    const url = this.endpoint;
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = request(
        url,
        {
          method: 'POST',
          headers: {
            authorization: `Bearer ${this.options.token}`,
            'content-type': 'application/json',
            'content-length': body.length,
          },
          timeout: this.options.timeoutMs,
          ...(url.protocol === 'https:' ? { ca: this.ca, rejectUnauthorized: this.options.rejectUnauthorized ?? true } : {}),
        },
        (res: IncomingMessage) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', (err) => reject(new TransportError('retry', `reading the hub's answer failed: ${err.message}`)));
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.options.timeoutMs} ms`)));
      req.on('error', (err: NodeJS.ErrnoException) => reject(new TransportError('retry', `cannot reach the hub at ${url.origin}: ${err.code ?? err.message}`)));
      req.end(body);
    });
  }
}
