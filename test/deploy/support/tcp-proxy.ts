// A TCP proxy in front of a shared server (PostgreSQL, S3) that a test can cut and restore: the
// server itself belongs to everyone on the machine and must not be stopped, so an outage is
// made here, between the hub and it.
import { createServer, connect, type Socket } from 'node:net';

export interface TcpProxy {
  port: number;
  /** Every open connection is reset and new ones are refused (accepted and reset at once). */
  cut(): void;
  /** Cuts (as cut()) once `bytes` more have gone from the clients to the server: an outage in the middle of a request. */
  cutAfter(bytes: number): void;
  /** Connections are forwarded again. */
  restore(): void;
  /** Connections made through the proxy so far. */
  connections(): number;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  const open = new Set<Socket>();
  let down = false;
  let made = 0;
  let budget = Infinity;
  const server = createServer((client) => {
    if (down) {
      client.resetAndDestroy();
      return;
    }
    made++;
    const upstream = connect(targetPort, targetHost);
    open.add(client);
    open.add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.on('data', (chunk: Buffer) => {
      budget -= chunk.length;
      if (budget < 0) proxy.cut();
    });
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (typeof address !== 'object' || !address) throw new Error('the proxy has no port');
  const proxy: TcpProxy = {
    port: address.port,
    cutAfter(bytes) {
      budget = bytes;
    },
    cut() {
      down = true;
      budget = Infinity;
      for (const socket of open) socket.resetAndDestroy();
      open.clear();
    },
    restore() {
      down = false;
    },
    connections: () => made,
    close() {
      for (const socket of open) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
  return proxy;
}
