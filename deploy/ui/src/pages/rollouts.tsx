import { useEffect, useState } from 'preact/hooks';
import { api, type FleetDevice, type Rollout } from '../api.js';

/**
 * The rollouts the hub has records of, newest first, with each wave's devices and outcomes. A
 * running rollout runs in the hub (one replica drives it), so the page can abort it: the driver
 * stops at its next step and sends the devices that took the release a signed rollback.
 */
export function RolloutsPage() {
  const [rollouts, setRollouts] = useState<Rollout[]>();
  // What each device runs now, from the fleet table: live while a wave's results are not yet written.
  const [fleet, setFleet] = useState<Map<string, FleetDevice>>(new Map());
  const [error, setError] = useState('');
  const [reload, setReload] = useState(0);
  const abort = (id: string) => {
    if (!confirm(`Abort rollout ${id}? No further waves are sent, and devices that took the release are sent back.`)) return;
    api(`/api/v1/rollouts/${encodeURIComponent(id)}/abort`, { method: 'POST', body: {} }).then(() => setReload((n) => n + 1), (err: Error) => setError(err.message));
  };
  useEffect(() => {
    const load = () => {
      api<{ devices: FleetDevice[] }>('/api/v1/devices').then((a) => setFleet(new Map(a.devices.map((d) => [d.deviceId, d]))), () => undefined);
      return api<{ rollouts: Rollout[] }>('/api/v1/rollouts').then((a) => (setRollouts(a.rollouts), setError('')), (err: Error) => setError(err.message));
    };
    void load();
    const timer = setInterval(load, 5000);
    return () => clearInterval(timer);
  }, [reload]);
  return (
    <section class="rollouts">
      <h2>Rollouts</h2>
      <p class="hint">
        Rollouts run in the hub (<code>kestrel deploy push</code> starts one); a rollout aborts by itself when its abort rule hits, or when you abort it
        here. <code>kestrel deploy rollback</code> sends devices back later. A wave's results appear as its devices answer.
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
              {r.driver ? ` · driven by ${r.driver}` : ''}
            </span>
            {/* Only hub-run rollouts (they name who started them) can be aborted; an old CLI-run record cannot. */}
            {r.status === 'running' && r.startedBy !== undefined ? (
              r.abortRequested ? (
                <span class="hint"> · abort requested by {r.abortRequested.by}</span>
              ) : (
                <button class="abort" onClick={() => abort(r.id)}>
                  Abort
                </button>
              )
            ) : null}
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
