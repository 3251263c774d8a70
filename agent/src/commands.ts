import type { Command } from 'commander';
import { action, createLogger, isKestrelError, logsArePretty, redactUrl } from '@kestrel/core';
import type { AgentConfig } from '@kestrel/config';
import type { PipelineBenchFlags } from './bench/pipeline.js';
import type { Agent } from './agent.js';
import type { TrackBenchFlags } from './bench/track/run.js';
import type { MotionBenchFlags } from './bench/motion/run.js';

interface AgentFlags {
  config?: string;
  source?: string;
  logLevel?: string;
}

/** `kestrel agent`, `kestrel bench pipeline`, `kestrel bench track` and `kestrel bench motion`. Heavy modules load inside the actions. */
export function registerAgentCommands(program: Command): void {
  const bench = program.command('bench').description('benchmarks (ratios taken in one run)');
  bench
    .command('pipeline')
    .description('frames/s through the whole agent path vs a bare ONNX Runtime loop, and frame-read → MQTT latency')
    .option('-m, --model <path>', 'ONNX model (default: the bundled detector)')
    .option('--source <spec>', 'demo (a generated clip, played at the camera\'s rate), a video file, or an rtsp:// URL', 'demo')
    .option('--seconds <n>', 'seconds per measurement (two rounds each side)', '10')
    .option('--threads <n>', 'ONNX Runtime intra-op threads, the same for both', '2')
    .option('--json', 'print one JSON document on stdout')
    .action(action(async (flags: PipelineBenchFlags) => {
      const { runPipelineBench } = await import('./bench/pipeline.js');
      return runPipelineBench(flags);
    }));

  bench
    .command('track')
    .description('tracking quality (MOTA, IDF1, ID switches, fragmentations, new tracks per object) on synthetic street scenes with known trajectories, the current tracker beside the old one')
    .option('--seed <n>', 'seed of the scenes and the noisy detector', '1')
    .option('--seconds <n>', 'length of each scene', '30')
    .option('-c, --config <file>', 'take the tracker settings from this config (default: a 10 fps camera\'s defaults)')
    .option('--camera <name>', 'the camera of --config (default: the first)')
    .option('--json', 'print one JSON document on stdout')
    .action(action(async (flags: TrackBenchFlags) => {
      const { runTrackBench } = await import('./bench/track/run.js');
      return runTrackBench(flags);
    }));

  bench
    .command('motion')
    .description('motion-gated detection: inference calls and CPU with gating on vs off on a still camera, and `new` events on a clip where people enter')
    .option('-m, --model <path>', 'ONNX model (default: the bundled detector)')
    .option('--seconds <n>', 'length of each clip (at least 25)', '40')
    .option('--fps <n>', 'camera frame rate', '5')
    .option('--threads <n>', 'ONNX Runtime intra-op threads', '1')
    .option('--json', 'print one JSON document on stdout')
    .action(action(async (flags: MotionBenchFlags) => {
      const { runMotionBench } = await import('./bench/motion/run.js');
      return runMotionBench(flags);
    }));

  program
    .command('agent')
    .description('run the device agent: cameras → detector → tracked events over MQTT (no config: a demo camera and the bundled model)')
    .option('-c, --config <file>', 'YAML config (default: $KESTREL_CONFIG, else built-in defaults)')
    .option('--source <source>', 'run on one camera instead of the config\'s: an rtsp:// URL, a video file, a V4L2 device (/dev/video0) or demo')
    .option('--log-level <level>', 'fatal|error|warn|info|debug|trace')
    .action(async (flags: AgentFlags) => {
      process.exitCode = await runAgent(flags);
    });
}

/** Exit status for problems a restart cannot fix (bad config, missing model): systemd's RestartPreventExitStatus=2. */
const EXIT_CONFIG = 2;
/** The agent's own stop is bounded at ~13 s (sources 2, in-flight 2, flush 4, MQTT 3, worker 2); this is the backstop. */
const HARD_EXIT_MS = 15_000;

async function runAgent(flags: AgentFlags): Promise<number> {
  const { loadConfig } = await import('@kestrel/config');
  // --source replaces the config's cameras at every load, reloads included.
  const overrides = { source: flags.source };
  let config;
  try {
    config = loadConfig(flags.config, process.env, overrides);
  } catch (err) {
    if (isKestrelError(err)) {
      // Off a terminal stderr carries JSON lines only, so a log reader sees this error too.
      if (logsArePretty()) process.stderr.write(`kestrel: ${err.message}\n`);
      else {
        const log = createLogger('kestrel-agent');
        log.error({ code: err.code }, err.message);
        await flushLog(log);
      }
      return EXIT_CONFIG;
    }
    throw err;
  }
  const logger = createLogger('kestrel-agent', { level: (flags.logLevel ?? config.log.level) as 'info' });
  const { Agent } = await import('./agent.js');
  const agent = new Agent(config, {
    logger,
    brokerConfigured: config.origin.brokerExplicit,
    // The same file (or $KESTREL_CONFIG) as at start, read afresh.
    reloadConfig: () => loadConfig(flags.config, process.env, overrides),
    watchPath: config.origin.path,
  });
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    const hardExit = setTimeout(() => {
      logger.error({ afterMs: HARD_EXIT_MS }, 'shutdown took too long; exiting');
      process.exit(1);
    }, HARD_EXIT_MS);
    hardExit.unref();
    await agent.stop();
    await flushLog(logger);
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  // systemctl reload (ExecReload=kill -HUP): cameras change live, the rest is reported as needing a restart.
  process.on('SIGHUP', () => {
    if (!stopping) void agent.reload('SIGHUP');
  });
  try {
    await agent.start();
  } catch (err) {
    // Stopped by a signal while starting: the stop handler exits (0) once the agent is down.
    if (stopping) return new Promise<never>(() => undefined);
    if (isKestrelError(err)) {
      logger.error({ code: err.code }, err.message);
      await agent.stop().catch(() => undefined);
      await flushLog(logger);
      // Not a crash to retry: the message names what to fix. process.exit: a part that failed
      // half-started must not keep the process alive.
      process.exit(EXIT_CONFIG);
    }
    throw err;
  }
  // For a person at a terminal only: off one (systemd, a pipe) stderr stays JSON lines, where
  // "serving /healthz and /metrics" and "agent started" say the same for machines.
  if (logsArePretty()) process.stderr.write(banner(agent, config));
  // Keep running until a signal arrives.
  await new Promise<never>(() => undefined);
  return 0;
}

/** What a person at a terminal is told once the agent runs: how to watch it, check it and stop it. */
function banner(agent: Pick<Agent, 'mqttUrl' | 'httpAddress' | 'modelInfo'>, config: AgentConfig): string {
  const url = new URL(agent.mqttUrl);
  const a = agent.httpAddress;
  const base = a ? `http://${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}` : '';
  const http = a ? `Health and metrics: ${base}/healthz and /metrics\n` : '';
  const snapshotting = config.cameras.find((c) => c.enabled && c.snapshots.enabled);
  // Snapshots are JPEG bytes: a terminal shown them prints garbage, so the suggested command leaves them out.
  const noJpeg = snapshotting ? ` -T '${config.mqtt.prefix}/${config.device.id}/+/+/snapshot'` : '';
  const snapshots = a && snapshotting ? `Snapshots: ${base}/api/cameras/${encodeURIComponent(snapshotting.name)}/snapshot/<label or event id>.jpg\n` : '';
  return (
    `\nKestrel agent "${config.device.id}" is running (model ${agent.modelInfo?.meta.name ?? '?'} on ${agent.modelInfo?.provider}, broker ${redactUrl(agent.mqttUrl)}).\n` +
    `Watch its messages:\n  mosquitto_sub -h ${url.hostname} -p ${url.port || 1883} -t '${config.mqtt.prefix}/${config.device.id}/#' -v${noJpeg}\n` +
    http +
    snapshots +
    `Stop it with Ctrl-C.\n\n`
  );
}

/** pino writes asynchronously: give the last lines a chance before process.exit(). */
function flushLog(logger: { flush(cb?: (err?: Error) => void): void }): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, 500);
    try {
      logger.flush(() => {
        clearTimeout(timer);
        resolve();
      });
    } catch {
      clearTimeout(timer);
      resolve();
    }
  });
}
