import { useEffect, useState } from 'preact/hooks';
import { api, queuePath, type FleetDevice, type QueueAnswer, type QueueFilter } from '../api.js';
import { classesOf, SampleThumb } from '../image.js';
import { queueHref, reviewHref } from '../route.js';

export function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

export const STRATEGIES = ['uncertainty', 'disagreement', 'rareClass', 'countChange', 'random', 'snapshot'];

/** Progress as numbers and a bar: reviewed of all that the filter selects. */
export function Progress({ progress }: { progress: QueueAnswer['progress'] }) {
  const total = progress.reviewed + progress.queued;
  const pct = total ? Math.round((progress.reviewed / total) * 100) : 0;
  return (
    <div class="progress" id="progress" title={`${pct}% reviewed`}>
      <span>
        <b>{progress.reviewed}</b> reviewed / <b>{progress.queued}</b> queued
      </span>
      <div class="bar">
        <div style={{ width: `${pct}%` }} />
      </div>
    </div>
  );
}

/** The filter bar: free text for device, camera and label (the hub matches exactly), a list for strategies. */
export function FilterBar({ filter, labels }: { filter: QueueFilter; labels: readonly string[] }) {
  const [draft, setDraft] = useState(filter);
  useEffect(() => setDraft(filter), [JSON.stringify(filter)]);
  // Suggestions: devices and their cameras from the fleet table, labels from the samples shown.
  const [fleet, setFleet] = useState<FleetDevice[]>([]);
  useEffect(() => {
    api<{ devices: FleetDevice[] }>('/api/v1/devices').then((a) => setFleet(a.devices), () => undefined);
  }, []);
  const cameras = [...new Set(fleet.flatMap((d) => Object.keys(d.cameras)))].sort();
  const apply = (next: QueueFilter) => {
    location.hash = queueHref(next);
  };
  const text = (key: 'device' | 'camera' | 'label', placeholder: string) => (
    <input name={key} list={`filter-${key}`} placeholder={placeholder} value={draft[key] ?? ''} onInput={(e) => setDraft({ ...draft, [key]: (e.target as HTMLInputElement).value.trim() || undefined })} />
  );
  return (
    <form
      class="filters"
      onSubmit={(e) => {
        e.preventDefault();
        apply(draft);
      }}
    >
      {text('device', 'device')}
      {text('camera', 'camera')}
      {text('label', 'label')}
      <select name="strategy" value={draft.strategy ?? ''} onChange={(e) => apply({ ...draft, strategy: (e.target as HTMLSelectElement).value || undefined })}>
        <option value="">any strategy</option>
        {STRATEGIES.map((s) => (
          <option value={s}>{s}</option>
        ))}
      </select>
      <select name="reviewed" value={draft.reviewed ?? 'false'} onChange={(e) => apply({ ...draft, reviewed: (e.target as HTMLSelectElement).value === 'true' ? 'true' : undefined })}>
        <option value="false">to review</option>
        <option value="true">reviewed</option>
      </select>
      <button type="submit">Filter</button>
      <datalist id="filter-device">{fleet.map((d) => <option value={d.deviceId} />)}</datalist>
      <datalist id="filter-camera">{cameras.map((c) => <option value={c} />)}</datalist>
      <datalist id="filter-label">{labels.map((l) => <option value={l} />)}</datalist>
      {Object.keys(filter).length > 0 && (
        <button type="button" class="quiet" onClick={() => apply({})}>
          Clear
        </button>
      )}
    </form>
  );
}

/** The queue: samples in the order the hub ranks them (best reason kept, most uncertain first). */
export function QueuePage({ filter }: { filter: QueueFilter }) {
  const [answer, setAnswer] = useState<QueueAnswer>();
  const [error, setError] = useState('');
  useEffect(() => {
    setError('');
    api<QueueAnswer>(queuePath(filter)).then(setAnswer, (err: Error) => setError(err.message));
  }, [JSON.stringify(filter)]);
  const first = answer?.samples[0];
  const classes = classesOf(answer?.samples ?? [], answer?.rules.classes);
  return (
    <section class="queue">
      <div class="bar-row">
        <FilterBar filter={filter} labels={classes} />
        {answer && <Progress progress={answer.progress} />}
      </div>
      {error && <p class="error">{error}</p>}
      {answer && answer.samples.length === 0 && (
        <p class="empty">
          {filter.reviewed === 'true' ? 'Nothing reviewed here yet.' : answer.progress.reviewed ? 'All reviewed: the queue is empty.' : 'Nothing to review here.'} New samples arrive as the devices keep them.
        </p>
      )}
      {first && (
        <p>
          <a class="button" id="start" href={reviewHref(first, filter)}>
            {filter.reviewed === 'true' ? 'Open the first' : 'Start reviewing'} →
          </a>{' '}
          <span class="hint">ordered by why each sample was kept, most uncertain first</span>
        </p>
      )}
      <ol class="cards">
        {answer?.samples.map((s) => (
          <li key={`${s.deviceId}/${s.id}`}>
            <a href={reviewHref(s, filter)} class="card" data-sample={s.id}>
              <SampleThumb sample={s} labels={s.reviewed?.labels ?? s.detections} classes={classes} />
              <div class="meta">
                <span class="reasons">{s.reasons.join(', ')}</span>
                <span title="1 = a detection at score 0.5">uncertainty {s.uncertainty.toFixed(2)}</span>
                <span>
                  {s.deviceId} · {s.camera}
                </span>
                <span>{new Date(s.capturedAt).toLocaleString()}</span>
                <span>{plural((s.reviewed?.labels ?? s.detections).length, 'box', 'boxes')}{s.reviewed ? ` · reviewed by ${s.reviewed.by}` : ''}</span>
              </div>
            </a>
          </li>
        ))}
      </ol>
    </section>
  );
}
