import { useState } from 'preact/hooks';
import { api, ApiError, saveToken } from '../api.js';

/** Asks for an operator token and checks it against the hub before keeping it for this tab. */
export function SignIn({ onSignedIn }: { onSignedIn: (token: string) => void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    const t = token.trim();
    if (!t) return;
    setBusy(true);
    setError('');
    try {
      // The device table is operator-only and cheap: a fair test of the token.
      await api('/api/v1/devices', { token: t });
      saveToken(t);
      onSignedIn(t);
    } catch (err) {
      const e2 = err as ApiError;
      setError(e2.status === 403 ? 'That is a device token; sign in with an operator token (kestrel hub operator add <name>).' : e2.message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="sign-in">
      <form onSubmit={submit}>
        <h1>Kestrel hub</h1>
        <p>Sign in with an operator token. It is kept only in this tab and sent to this hub only.</p>
        <label>
          Operator token
          <input id="token" type="password" autoComplete="off" value={token} onInput={(e) => setToken((e.target as HTMLInputElement).value)} autoFocus />
        </label>
        {error && <p class="error" role="alert">{error}</p>}
        <button type="submit" disabled={busy || !token.trim()}>
          Sign in
        </button>
        <p class="hint">
          No token yet? On the hub: <code>kestrel hub operator add your-name</code>
        </p>
      </form>
    </div>
  );
}
