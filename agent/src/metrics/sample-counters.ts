// The active-learning sampler's totals as the agent reports them: mirrored into /metrics, and
// summed up in the `stats` payload. Pure mappings, kept out of the agent controller.
import type { Stats } from '@kestrel/core';
import type { Sampler } from '../sampling/index.js';
import type { MetricsSnapshot } from './agent-metrics.js';

export type SampleCounters = NonNullable<MetricsSnapshot['samples']>;

export function samplesSnapshot(sampler: Sampler): SampleCounters {
  const s = sampler.stats();
  const upload = 'sent' in s.upload ? s.upload : undefined;
  return {
    owner: sampler,
    enabled: s.enabled,
    considered: s.considered,
    kept: s.kept,
    dropped: { ...s.dropped, evictedBudget: s.buffer?.evicted.budget ?? 0, evictedAge: s.buffer?.evicted.age ?? 0 },
    uploaded: upload?.sent ?? 0,
    uploadRejected: upload?.rejected ?? 0,
    backlog: s.backlog,
    bufferBytes: s.buffer?.bytes ?? 0,
  };
}

export function statsSamples(s: SampleCounters): NonNullable<Stats['samples']> {
  const d = s.dropped;
  return { considered: s.considered, kept: s.kept, dropped: d.quota + d.duplicate + d.queueFull + d.writeFailed, uploaded: s.uploaded, backlog: s.backlog };
}
