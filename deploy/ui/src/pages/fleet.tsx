import { useEffect, useState } from 'preact/hooks';
import { api, type FleetDevice } from '../api.js';

function ago(ms: number): string {
  if (!ms) return 'never (only a retained status)';
  const s = Math.round((Date.now() - ms) / 1000);
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return new Date(ms).toLocaleString();
}

/** The hub's device table (from the fleet's retained MQTT status and state), refreshed every 5 s. */
export function FleetPage() {
  const [devices, setDevices] = useState<FleetDevice[]>();
  const [error, setError] = useState('');
  useEffect(() => {
    const load = () => api<{ devices: FleetDevice[] }>('/api/v1/devices').then((a) => (setDevices(a.devices), setError('')), (err: Error) => setError(err.message));
    void load();
    const timer = setInterval(load, 5000);
    return () => clearInterval(timer);
  }, []);
  return (
    <section class="fleet">
      <h2>Fleet</h2>
      <p class="hint">As the devices last reported on MQTT (status and state). Refreshed every 5 s.</p>
      {error && <p class="error">{error}</p>}
      {devices && devices.length === 0 && <p class="empty">No device has reported yet: the hub follows &lt;prefix&gt;/+/status and &lt;prefix&gt;/+/state of devices it issued a token to.</p>}
      {devices && devices.length > 0 && (
        <table class="grid" id="fleet">
          <thead>
            <tr>
              <th>device</th>
              <th>status</th>
              <th>model</th>
              <th>provider</th>
              <th>cameras (fps)</th>
              <th>degraded</th>
              <th>agent</th>
              <th>last seen</th>
            </tr>
          </thead>
          <tbody>
            {devices.map((d) => (
              <tr key={d.deviceId}>
                <td>{d.deviceId}</td>
                <td>
                  <span class={d.online ? 'pill ok' : 'pill off'}>{d.online ? 'online' : 'offline'}</span>
                </td>
                <td>{d.model ? `${d.model.name} ${d.model.version}` : '–'}</td>
                <td>{d.model?.provider ?? '–'}</td>
                <td>
                  {Object.entries(d.cameras).map(([name, c]) => (
                    <div>
                      {name}: <span class={c.state === 'streaming' ? '' : 'warn'}>{c.state}</span> {c.fps.toFixed(1)}
                    </div>
                  ))}
                  {Object.keys(d.cameras).length === 0 && '–'}
                </td>
                <td>{d.degraded.length ? d.degraded.map((r) => <div class="warn">{r}</div>) : '–'}</td>
                <td>{d.agentVersion ?? '–'}</td>
                <td>{ago(d.lastSeen)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
