import { useEffect, useState } from 'preact/hooks';
import { api, type Shadow, type ShadowSide } from '../api.js';

/**
 * Shadow comparisons (`kestrel deploy shadow start`): a candidate release running beside the
 * serving model on a share of live frames, summed over the devices' latest reports, newest first.
 * A running one can be stopped here; the devices drop the candidate at once.
 */
export function ShadowsPage() {
  const [shadows, setShadows] = useState<Shadow[]>();
  const [error, setError] = useState('');
  const [reload, setReload] = useState(0);
  const stop = (id: string) => {
    if (!confirm(`Stop shadow ${id}? The devices stop running the candidate.`)) return;
    api(`/api/v1/shadows/${encodeURIComponent(id)}/stop`, { method: 'POST', body: {} }).then(() => setReload((n) => n + 1), (err: Error) => setError(err.message));
  };
  useEffect(() => {
    const load = () => api<{ shadows: Shadow[] }>('/api/v1/shadows').then((a) => (setShadows(a.shadows), setError('')), (err: Error) => setError(err.message));
    void load();
    const timer = setInterval(load, 5000);
    return () => clearInterval(timer);
  }, [reload]);
  return (
    <section class="shadows">
      <h2>Shadows</h2>
      <p class="hint">
        A candidate runs beside the serving model on a share of each device's frames and is never swapped in (<code>kestrel deploy shadow start</code>).
        Agreement is matched detections (same label, IoU ≥ 0.5) over their union; the ratios are candidate over serving model.
      </p>
      {error && <p class="error">{error}</p>}
      {shadows && shadows.length === 0 && <p class="empty">No shadow comparisons yet (kestrel deploy shadow start &lt;release&gt; --to &lt;devices&gt;).</p>}
      {shadows?.map((s) => (
        <article class="rollout" key={s.id} id={`shadow-${s.id}`}>
          <header>
            <b>{s.release}</b> <span class={`pill ${s.status === 'running' ? 'run' : 'off'}`}>{s.status}</span>
            <span class="hint">
              {' '}
              shadow {s.id} · {Math.round(s.share * 100)}% of frames · started {new Date(s.createdAt).toLocaleString()} by {s.createdBy} · until {new Date(s.until).toLocaleString()}
              {s.stopped ? ` · stopped by ${s.stopped.by}` : ''}
            </span>
            {s.status === 'running' && (
              <button class="abort" onClick={() => stop(s.id)}>
                Stop
              </button>
            )}
          </header>
          <p class="summary">
            {s.devicesReporting} of {s.targets.length} devices reporting · {s.frames} frames compared ({s.dropped} dropped) · agreement <b>{fixed(s.agreement, 3)}</b> ·
            detection rate ×{fixed(s.detectionRateRatio, 3)} · latency ×{fixed(s.latencyRatio, 3)}
          </p>
          <table class="grid">
            <thead>
              <tr>
                <th>model</th>
                <th>detections</th>
                <th>per frame</th>
                <th>mean score</th>
                <th>latency mean (ms)</th>
                <th>latency p50 (ms)</th>
              </tr>
            </thead>
            <tbody>
              {side('serving', s.current)}
              {side('candidate', s.candidate)}
            </tbody>
          </table>
          <table class="grid">
            <thead>
              <tr>
                <th>device</th>
                <th>status</th>
                <th>frames</th>
                <th>dropped</th>
                <th>agreement</th>
                <th>reported</th>
              </tr>
            </thead>
            <tbody>
              {s.devices.map((d) => (
                <tr key={d.deviceId}>
                  <td>{d.deviceId}</td>
                  <td>
                    {d.status}
                    {d.reason ? <span class="hint"> {d.reason}</span> : null}
                  </td>
                  <td>{d.frames}</td>
                  <td>{d.dropped}</td>
                  <td>{fixed(d.agreement, 3)}</td>
                  <td>{new Date(d.at).toLocaleString()}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </article>
      ))}
    </section>
  );
}

function side(name: string, s: ShadowSide) {
  return (
    <tr>
      <td>{name}</td>
      <td>{s.detections}</td>
      <td>{fixed(s.perFrame, 2)}</td>
      <td>{fixed(s.meanScore, 3)}</td>
      <td>{fixed(s.latencyMeanMs, 1)}</td>
      <td>{fixed(s.latencyP50Ms, 1)}</td>
    </tr>
  );
}

function fixed(v: number | null, digits: number): string {
  return v === null ? '–' : v.toFixed(digits);
}
