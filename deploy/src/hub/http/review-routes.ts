import type { FastifyInstance } from 'fastify';
import type { RecordStore } from '../../store/types.js';
import { ReviewError, MAX_LABEL_LENGTH } from '../../review/rules.js';
import { uncertainty } from '../../review/queue.js';
import type { ReviewService } from '../../review/service.js';
import { sendError } from './errors.js';
import { publicSample } from './public-sample.js';
import { filterFrom, QueryError, unknownParams } from './query.js';

/**
 * The operator API the review UI uses: the queue in review order with progress, one sample, and
 * saving a review (`PUT .../review`, optimistic concurrency on `expectedAt`).
 */
export function registerReviewRoutes(app: FastifyInstance, deps: { records: RecordStore; review: ReviewService }): void {
  const operator = { config: { access: 'operator' as const } };

  app.get('/api/v1/review/queue', operator, async (request, reply) => {
    const query = request.query as Record<string, string>;
    const unknown = unknownParams(query, ['limit']);
    if (unknown.length) return sendError(reply, 400, 'E_QUERY', `unknown query parameter ${unknown.map((k) => `"${k}"`).join(', ')} (known: device, camera, label, strategy, since, until, reviewed, limit)`);
    const limit = query.limit === undefined ? 50 : Number(query.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 500) return sendError(reply, 400, 'E_QUERY', `limit: must be a whole number from 1 to 500, got "${query.limit}"`);
    try {
      const filter = filterFrom(query);
      const [samples, progress] = await Promise.all([deps.review.queue(filter, limit), deps.review.progress(filter)]);
      return {
        samples: samples.map((s) => ({ ...publicSample(s), uncertainty: uncertainty(s) })),
        progress,
        rules: { ...(deps.review.rules.classes ? { classes: deps.review.rules.classes } : {}), maxLabelLength: MAX_LABEL_LENGTH, maxLabels: deps.review.rules.maxLabels },
      };
    } catch (err) {
      if (err instanceof QueryError) return sendError(reply, 400, 'E_QUERY', err.message);
      throw err;
    }
  });

  app.get('/api/v1/samples/:device/:id', operator, async (request, reply) => {
    const { device, id } = request.params as { device: string; id: string };
    const sample = await deps.records.getSample(device, id);
    if (!sample) return sendError(reply, 404, 'E_NOT_FOUND', `no sample "${id}" of device "${device}"`);
    return { ...publicSample(sample), uncertainty: uncertainty(sample) };
  });

  app.put('/api/v1/samples/:device/:id/review', operator, async (request, reply) => {
    const { device, id } = request.params as { device: string; id: string };
    const body = request.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      return sendError(reply, 400, 'E_REVIEW_BODY', 'send { "labels": [{ "label", "box": [x1, y1, x2, y2] }], "expectedAt": <reviewed.at as loaded, or null> }');
    }
    const { labels, expectedAt, ...rest } = body as Record<string, unknown>;
    const extra = Object.keys(rest);
    if (extra.length) return sendError(reply, 400, 'E_REVIEW_BODY', `unknown field ${extra.map((k) => `"${k}"`).join(', ')} (a review has labels and expectedAt)`);
    if (!('expectedAt' in (body as object))) return sendError(reply, 400, 'E_REVIEW_BODY', 'expectedAt is missing: send the reviewed.at of the sample as loaded, or null when it had no review');
    try {
      const saved = await deps.review.save(device, id, { labels, expectedAt }, request.caller!.name);
      return { ...publicSample(saved), uncertainty: uncertainty(saved) };
    } catch (err) {
      if (err instanceof ReviewError) return sendError(reply, err.status, err.code, err.message);
      throw err;
    }
  });
}
