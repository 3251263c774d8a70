import { connect, createServer, type Server, type Socket } from 'node:net';

export interface Balancer {
  url: string;
  port: number;
  /** Connections each backend took. */
  connections(): number[];
  close(): Promise<void>;
}

/**
 * The HTTP load balancer in front of the replicas, as a site has one: TCP round robin, and a
 * backend that refuses the connection (a replica that died) is skipped for the next, as
 * HAProxy's `option redispatch` does. Requests already on a dead backend's connections fail;
 * the devices retry them, which is what the hub's idempotent ingest is for.
 */
export async function startBalancer(backends: readonly number[], host = '127.0.0.1'): Promise<Balancer> {
  const open = new Set<Socket>();
  const made = backends.map(() => 0);
  let next = 0;
  const server: Server = createServer((client) => {
    open.add(client);
    client.on('close', () => open.delete(client));
    client.on('error', () => client.destroy());
    client.pause();
    const tryBackend = (attempt: number) => {
      if (attempt >= backends.length) return client.destroy();
      const index = next++ % backends.length;
      const upstream = connect(backends[index], host);
      let connected = false;
      upstream.on('error', () => {
        upstream.destroy();
        if (!connected) tryBackend(attempt + 1);
      });
      upstream.once('connect', () => {
        connected = true;
        made[index]++;
        open.add(upstream);
        upstream.on('close', () => {
          open.delete(upstream);
          client.destroy();
        });
        client.on('close', () => upstream.destroy());
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
      });
    };
    tryBackend(0);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://${host}:${port}`,
    port,
    connections: () => [...made],
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        server.close(() => resolve());
      }),
  };
}
