import type { FastifyError, FastifyReply } from 'fastify';
import { isStoreUnavailable } from '../../store/errors.js';

/** Every refusal has one shape: `{ error: { code, message } }`, the message naming what is wrong. */
export function sendError(reply: FastifyReply, status: number, code: string, message: string): FastifyReply {
  return reply.code(status).type('application/json').send({ error: { code, message } });
}

/** Fastify's own refusals (body too large, broken JSON, wrong content type) in the hub's words. */
export function frameworkError(err: FastifyError, bodyLimit: number): { status: number; code: string; message: string } | undefined {
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, code: 'E_INGEST_TOO_LARGE', message: `the request body is larger than this hub takes (limits.maxBodyBytes: ${bodyLimit} bytes); send smaller batches` };
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { status: 400, code: 'E_INGEST_JSON', message: `the body is not valid JSON (${err.message})` };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { status: 415, code: 'E_INGEST_CONTENT_TYPE', message: 'send the batch as Content-Type: application/json' };
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { status: 400, code: 'E_INGEST_LENGTH', message: 'the Content-Length header does not match the body' };
  }
  if (err instanceof SyntaxError || (err.statusCode === 400 && /JSON/i.test(err.message))) {
    return { status: 400, code: 'E_INGEST_JSON', message: `the body is not valid JSON (${err.message})` };
  }
  return undefined;
}

/** Seconds a client is asked to wait after a 503 for a store outage. */
export const STORE_RETRY_AFTER_SECONDS = 5;

/**
 * A record or blob store that cannot be reached (PostgreSQL or S3 down): 503 with the reason and
 * a Retry-After, so devices keep their samples and send them again, as after E_HUB_BUSY.
 */
export function storeError(err: unknown): { status: number; code: string; message: string } | undefined {
  return isStoreUnavailable(err) ? { status: 503, code: err.code, message: err.message } : undefined;
}

export function sendStoreError(reply: FastifyReply, failure: { status: number; code: string; message: string }): FastifyReply {
  return sendError(reply.header('retry-after', String(STORE_RETRY_AFTER_SECONDS)), failure.status, failure.code, failure.message);
}
