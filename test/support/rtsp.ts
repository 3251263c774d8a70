// A real RTSP server for tests: Debian's rtsp-server-perl (a small relay: a publisher ANNOUNCEs
// and RECORDs to the source port, clients DESCRIBE/SETUP/PLAY on the client port; RTP over UDP
// only, so clients need `-rtsp_transport udp`), fed by an ffmpeg publisher that encodes H.264
// (libx264 ultrafast, zerolatency, short GOP) from a real photograph moving across a room.
// The photo's position is a function of the wall clock (see agent/src/source/scene.ts), so
// `placement(t)` says where it is at any time, across publisher restarts too.
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { createWriteStream } from 'node:fs';
import { connect } from 'node:net';
import type { Box } from '@kestrel/core/image/letterbox';
import { sceneGraph, sceneInputArgs, scenePlacement, type SceneOptions } from '@kestrel/agent/source/scene';
import { freePort } from './ports.js';
import { testImage, type TestImageName } from './images.js';

export interface RtspServerOptions {
  /** The photograph that moves. Default 'astronaut' (a person). */
  photo?: TestImageName;
  /** Parts of the scene to change; default 640×360 at 15 fps, the photo at 240×240 walking back and forth, 8 s each way. */
  scene?: Partial<Omit<SceneOptions, 'photo'>>;
  /** Keyframe interval in frames. Default 15 (1 s): a client that (re)joins decodes within a second. */
  gop?: number;
  /** Mount path. Default `/cam`. */
  path?: string;
}

export interface RtspTestServer {
  /** What clients open (with `-rtsp_transport udp`). */
  url: string;
  clientPort: number;
  sourcePort: number;
  scene: SceneOptions;
  /** The photo's box in stream pixels at `timeMs` (epoch ms); null while out of view. */
  placement(timeMs: number): Box | null;
  /** The server dies (SIGKILL), and with it the publisher: the camera "goes away". */
  kill(): Promise<void>;
  /** Starts server and publisher again on the same ports; resolves once the stream is announced. */
  restart(): Promise<{ startedAt: number; readyAt: number }>;
  /** The publisher alone stops, cleanly (server stays): clients stop receiving packets, a stall. */
  stopPublisher(): Promise<void>;
  startPublisher(): Promise<void>;
  /** Everything stops; safe to call twice. */
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 15_000;
const DEBUG_LOG = process.env.KESTREL_RTSP_LOG;
const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

export async function startRtspServer(options: RtspServerOptions = {}): Promise<RtspTestServer> {
  const scene: SceneOptions = {
    width: 640,
    height: 360,
    fps: 15,
    photoWidth: 240,
    photoHeight: 240,
    top: 100,
    motion: { kind: 'bounce', legSeconds: 8 },
    ...options.scene,
    photo: testImage(options.photo ?? 'astronaut'),
  };
  const gop = options.gop ?? 15;
  const path = options.path ?? '/cam';
  const clientPort = await freePort();
  const sourcePort = await freePort();
  // RTP ports need not survive restarts (clients learn them in SETUP); only the TCP ports must.
  let rtpStartPort = await freeUdpBlock(200);
  const url = `rtsp://127.0.0.1:${clientPort}${path}`;
  const publishUrl = `rtsp://127.0.0.1:${sourcePort}${path}`;

  let server: ChildProcess | undefined;
  let publisher: ChildProcess | undefined;
  let stopped = false;

  const startServer = async () => {
    const args = [
      '--clientport', String(clientPort),
      '--serverport', String(sourcePort),
      '--client_listen_address', '127.0.0.1',
      '--source_listen_address', '127.0.0.1',
      '--rtp_start_port', String(rtpStartPort),
      '--loglevel', DEBUG_LOG ? '4' : '1',
    ];
    // rtsp-server-perl 0.06 forgets --rtp_start_port: whenever a connection closes while nothing
    // is mounted (our readiness probes, a camera retrying) it resets the next RTP port to its
    // package default, 20000, so every server on the machine ends up binding 20000 and a second
    // publisher's RECORD fails (404). Setting the package default itself keeps servers apart.
    // KESTREL_RTSP_LOG=<file>: the server's debug log, unbuffered, appended to that file.
    const script = '$RTSP::Server::RTP_START_PORT = $ENV{KESTREL_RTP_START_PORT}; STDOUT->autoflush(1); do "/usr/bin/rtsp-server-perl"; die $@ if $@';
    server = track(
      spawn('perl', ['-MIO::Handle', '-MRTSP::Server', '-e', script, '--', ...args], {
        stdio: ['ignore', DEBUG_LOG ? 'pipe' : 'ignore', 'pipe'],
        env: { ...process.env, KESTREL_RTP_START_PORT: String(rtpStartPort) },
      }),
      'rtsp-server-perl',
    );
    if (DEBUG_LOG) {
      const out = createWriteStream(DEBUG_LOG, { flags: 'a' });
      server.stdout?.pipe(out);
      server.stderr?.pipe(out);
    }
    await waitUntil(() => tcpAccepts(clientPort).then(async (ok) => ok && tcpAccepts(sourcePort)), READY_TIMEOUT_MS, server, 'rtsp-server-perl');
  };

  const startPublisher = async () => {
    // rtsp-server-perl forgets a mount only on TEARDOWN: a publisher that vanished without one
    // leaves a stale mount that answers DESCRIBE and refuses a new ANNOUNCE (403).
    if (await describeOk(clientPort, url)) throw new Error(`${url} is still mounted by an earlier publisher; stop publishers with stopPublisher()`);
    for (let attempt = 1; ; attempt++) {
      publisher = track(
        spawn('ffmpeg', [
          '-hide_banner', '-nostdin', '-loglevel', 'error',
          ...sceneInputArgs(scene),
          '-filter_complex', sceneGraph(scene),
          '-map', '[scene]', '-an',
          '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', String(gop), '-keyint_min', String(gop), '-pix_fmt', 'yuv420p',
          '-f', 'rtsp', '-rtsp_transport', 'udp', publishUrl,
        ], { stdio: ['ignore', 'ignore', 'pipe'] }),
        'ffmpeg publisher',
      );
      try {
        await waitUntil(() => describeOk(clientPort, url), READY_TIMEOUT_MS, publisher, 'ffmpeg publisher');
        // DESCRIBE answers right after ANNOUNCE; make sure RECORD went through too (ffmpeg exits if not).
        await new Promise((r) => setTimeout(r, 300));
        if (publisher.exitCode !== null || publisher.signalCode !== null) throw new Error(`ffmpeg publisher exited after announcing: ${stderrTail(publisher).trim()}`);
        return;
      } catch (err) {
        const serverSaid = server ? stderrTail(server).trim() : '';
        console.error(`[rtsp harness] publishing failed (attempt ${attempt}): ${(err as Error).message}${serverSaid ? `; server said: ${serverSaid}` : ''}`);
        // A publisher that failed after ANNOUNCE leaves a stale mount that refuses the next
        // ANNOUNCE (403): only a fresh server clears it.
        await Promise.all([killChild(publisher), killChild(server)]);
        if (attempt >= 3) throw err;
        rtpStartPort = await freeUdpBlock(200);
        await startServer();
      }
    }
  };

  const kill = async () => {
    await Promise.all([killChild(publisher), killChild(server)]);
    publisher = server = undefined;
  };

  await startServer();
  await startPublisher();

  return {
    url,
    clientPort,
    sourcePort,
    scene,
    placement: (timeMs) => scenePlacement(scene, timeMs),
    kill,
    async restart() {
      await kill();
      const startedAt = Date.now();
      await startServer();
      await startPublisher();
      return { startedAt, readyAt: Date.now() };
    },
    async stopPublisher() {
      // SIGTERM: ffmpeg sends TEARDOWN, so the server drops the mount and a new publisher can announce.
      await killChild(publisher, 'SIGTERM');
      publisher = undefined;
    },
    startPublisher,
    async stop() {
      if (stopped) return;
      stopped = true;
      await kill();
    },
  };
}

const intended = new WeakSet<ChildProcess>();

/** Tracks a child for cleanup; one that dies on its own says so on stderr, so a failing test shows why. */
function track(child: ChildProcess, what: string): ChildProcess {
  children.add(child);
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  (child as ChildProcess & { stderrTail: () => string }).stderrTail = () => stderr;
  child.once('close', (code, signal) => {
    children.delete(child);
    if (!intended.has(child)) console.error(`[rtsp harness] ${what} exited by itself (${code ?? signal}): ${stderr.trim().slice(-1000)}`);
  });
  return child;
}

function stderrTail(child: ChildProcess): string {
  return (child as ChildProcess & { stderrTail?: () => string }).stderrTail?.() ?? '';
}

/** Signals the child (SIGKILL by default; SIGKILL anyway after 3 s) and waits for its exit. */
export function killChild(child: ChildProcess | undefined, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  intended.add(child);
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 3000);
    child.once('close', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill(signal);
  });
}

async function waitUntil(check: () => Promise<boolean>, timeoutMs: number, child: ChildProcess, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${what} exited (${child.exitCode ?? child.signalCode}) before it was ready: ${stderrTail(child).trim()}`);
    }
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} not ready after ${timeoutMs} ms: ${stderrTail(child).trim()}`);
}

function tcpAccepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** True once the server answers DESCRIBE for the mount (the publisher has announced it). */
function describeOk(port: number, url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let reply = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(2000, () => done(false));
    socket.once('connect', () => socket.write(`DESCRIBE ${url} RTSP/1.0\r\nCSeq: 1\r\nAccept: application/sdp\r\n\r\n`));
    socket.on('data', (d) => {
      reply += d.toString();
      if (reply.includes('\r\n')) done(/^RTSP\/1\.0 200/.test(reply));
    });
    socket.once('error', () => done(false));
  });
}

/**
 * The server hands out RTP ports from --rtp_start_port upwards, two per announce and per client
 * SETUP, never reusing them: give it a block no other test is likely to use.
 */
async function freeUdpBlock(size: number): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const base = 20_000 + 2 * Math.floor(Math.random() * 15_000);
    if (await udpPortsFree(base, size)) return base;
  }
  throw new Error('no free block of UDP ports for the RTSP server');
}

async function udpPortsFree(base: number, size: number): Promise<boolean> {
  for (let port = base; port < base + size; port++) {
    const free = await new Promise<boolean>((resolve) => {
      const socket = createSocket('udp4');
      socket.once('error', () => resolve(false));
      socket.bind(port, '127.0.0.1', () => socket.close(() => resolve(true)));
    });
    if (!free) return false;
  }
  return true;
}
