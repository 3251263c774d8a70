import { useEffect, useState } from 'preact/hooks';
import { api, type FleetDevice, type Rollout } from '../api.js';

/**
 * The rollouts the hub has records of, newest first, with each wave's devices and outcomes. Read
 * only: a rollout is driven by the `kestrel deploy push` process that started it, which the hub
 * does not reach, so the page offers no abort it could not carry out.
 */
export function RolloutsPage() {
  const [rollouts, setRollouts] = useState<Rollout[]>();
  // What each device runs now, from the fleet table: live while a wave's results are not yet written.
  const [fleet, setFleet] = useState<Map<string, FleetDevice>>(new Map());
  const [error, setError] = useState('');
  useEffect(() => {
    const load = () => {
      api<{ devices: FleetDevice[] }>('/api/v1/devices').then((a) => setFleet(new Map(a.devices.map((d) => [d.deviceId, d]))), () => undefined);
      return api<{ rollouts: Rollout[] }>('/api/v1/rollouts').then((a) => (setRollouts(a.rollouts), setError('')), (err: Error) => setError(err.message));
    };
    void load();
    const timer = setInterval(load, 5000);
    return () => clearInterval(timer);
  }, []);
  return (
    <section class="rollouts">
      <h2>Rollouts</h2>
      <p class="hint">
        Read only. A rollout is run by the <code>kestrel deploy push</code> that started it; it aborts by itself when its abort rule hits, and
        <code> kestrel deploy rollback</code> sends devices back. A wave's results appear when the wave ends.
      </p>
      {error && <p class="error">{error}</p>}
      {rollouts && rollouts.length === 0 && <p class="empty">No rollouts yet (kestrel deploy push &lt;release&gt;).</p>}
      {rollouts?.map((r) => (
        <article class="rollout" key={r.id} id={`rollout-${r.id}`}>
          <header>
            <b>{r.release}</b> <span class={`pill ${r.status === 'completed' ? 'ok' : r.status === 'aborted' ? 'bad' : 'run'}`}>{r.status}</span>
            <span class="hint">
              {' '}
              rollout {r.id} · sequence {r.sequence} · started {new Date(r.startedAt).toLocaleString()}
              {r.finishedAt ? ` · finished ${new Date(r.finishedAt).toLocaleString()}` : ''}
            </span>
          </header>
          {r.reason && <p class="warn">{r.reason}</p>}
          <table class="grid">
            <thead>
              <tr>
                <th>wave</th>
                <th>device</th>
                <th>outcome</th>
                <th>status</th>
                <th>reason</th>
                <th>runs now</th>
              </tr>
            </thead>
            <tbody>
              {r.waves.flatMap((w, i) =>
                w.devices.map((d, k) => {
                  const res = w.results[d];
                  const notStarted = r.notStarted?.includes(d);
                  const outcome = res?.outcome ?? (notStarted ? 'not started' : r.status === 'running' ? 'waiting' : '–');
                  return (
                    <tr key={`${i}/${d}`}>
                      <td>{k === 0 ? `${i + 1}${i === 0 ? ' (canary)' : ''}` : ''}</td>
                      <td>{d}</td>
                      <td>
                        <span class={`pill ${outcome === 'passed' ? 'ok' : outcome === 'failed' ? 'bad' : 'off'}`}>{outcome}</span>
                        {r.rolledBack?.[d] ? <span class="hint"> rolled back to {r.rolledBack[d]}</span> : null}
                      </td>
                      <td>{res?.status ?? '–'}</td>
                      <td>{res?.reason ?? ''}</td>
                      <td>{nowRuns(fleet.get(d))}</td>
                    </tr>
                  );
                }),
              )}
            </tbody>
          </table>
        </article>
      ))}
    </section>
  );
}

function nowRuns(device: FleetDevice | undefined): string {
  if (!device) return '–';
  const model = device.model ? `${device.model.name} ${device.model.version}` : 'no model';
  return `${model}${device.online ? '' : ' (offline)'}`;
}
