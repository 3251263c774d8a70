import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { forgetToken, savedToken, setUnauthorizedHandler } from './api.js';
import { useRoute, queueHref } from './route.js';
import { SignIn } from './pages/sign-in.js';
import { QueuePage } from './pages/queue.js';
import { ReviewPage } from './pages/review.js';
import { FleetPage } from './pages/fleet.js';
import { RolloutsPage } from './pages/rollouts.js';
import { ShadowsPage } from './pages/shadows.js';

function App() {
  const [token, setToken] = useState(savedToken());
  const route = useRoute();
  useEffect(() => {
    setUnauthorizedHandler(() => {
      forgetToken();
      setToken(null);
    });
  }, []);
  if (!token) return <SignIn onSignedIn={(t) => setToken(t)} />;
  const tab = route.page === 'review' ? 'queue' : route.page;
  return (
    <div class="shell">
      <header class="top">
        <span class="brand">Kestrel hub</span>
        <nav>
          <a href={queueHref(route.filter)} class={tab === 'queue' ? 'on' : ''}>Review</a>
          <a href="#/fleet" class={tab === 'fleet' ? 'on' : ''}>Fleet</a>
          <a href="#/rollouts" class={tab === 'rollouts' ? 'on' : ''}>Rollouts</a>
          <a href="#/shadows" class={tab === 'shadows' ? 'on' : ''}>Shadows</a>
        </nav>
        <button
          class="quiet"
          onClick={() => {
            forgetToken();
            setToken(null);
          }}
        >
          Sign out
        </button>
      </header>
      <main>
        {route.page === 'queue' && <QueuePage filter={route.filter} />}
        {route.page === 'review' && route.sample && <ReviewPage key={`${route.sample.deviceId}/${route.sample.id}`} sample={route.sample} filter={route.filter} />}
        {route.page === 'fleet' && <FleetPage />}
        {route.page === 'rollouts' && <RolloutsPage />}
        {route.page === 'shadows' && <ShadowsPage />}
      </main>
    </div>
  );
}

render(<App />, document.getElementById('app')!);
