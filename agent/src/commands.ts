import type { Command } from 'commander';
import { action, createLogger, isKestrelError, redactUrl } from '@kestrel/core';
import type { PipelineBenchFlags } from './bench/pipeline.js';

interface AgentFlags {
  config?: string;
  logLevel?: string;
}

/** `kestrel agent` and `kestrel bench pipeline`. Heavy modules load inside the actions. */
export function registerAgentCommands(program: Command): void {
  program
    .command('bench')
    .description('benchmarks (ratios taken in one run)')
    .command('pipeline')
    .description('frames/s through the whole agent path vs a bare ONNX Runtime loop, and frame-read → MQTT latency')
    .option('-m, --model <path>', 'ONNX model (default: the bundled detector)')
    .option('--source <spec>', 'demo (a generated clip read as fast as possible), a video file, or an rtsp:// URL', 'demo')
    .option('--seconds <n>', 'seconds per measurement (two rounds each side)', '10')
    .option('--threads <n>', 'ONNX Runtime intra-op threads, the same for both', '2')
    .option('--json', 'print one JSON document on stdout')
    .action(action(async (flags: PipelineBenchFlags) => {
      const { runPipelineBench } = await import('./bench/pipeline.js');
      return runPipelineBench(flags);
    }));

  program
    .command('agent')
    .description('run the device agent: cameras → detector → tracked events over MQTT (no config: a demo camera and the bundled model)')
    .option('-c, --config <file>', 'YAML config (default: $KESTREL_CONFIG, else built-in defaults)')
    .option('--log-level <level>', 'fatal|error|warn|info|debug|trace')
    .action(async (flags: AgentFlags) => {
      process.exitCode = await runAgent(flags);
    });
}

async function runAgent(flags: AgentFlags): Promise<number> {
  const { loadConfig } = await import('@kestrel/config');
  let config;
  try {
    config = loadConfig(flags.config);
  } catch (err) {
    if (isKestrelError(err)) {
      process.stderr.write(`kestrel: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const logger = createLogger('kestrel-agent', { level: (flags.logLevel ?? config.log.level) as 'info' });
  const { Agent } = await import('./agent.js');
  const agent = new Agent(config, { logger, brokerConfigured: config.origin.brokerExplicit });
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    const hardExit = setTimeout(() => {
      logger.error('shutdown took too long; exiting');
      process.exit(1);
    }, 15_000);
    hardExit.unref();
    await agent.stop();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  try {
    await agent.start();
  } catch (err) {
    if (isKestrelError(err)) {
      logger.error({ code: err.code }, err.message);
      await agent.stop().catch(() => undefined);
      return 2;
    }
    throw err;
  }
  const url = new URL(agent.mqttUrl);
  process.stderr.write(
    `\nKestrel agent "${config.device.id}" is running (model ${agent.modelInfo?.meta.name ?? '?'} on ${agent.modelInfo?.provider}, broker ${redactUrl(agent.mqttUrl)}).\n` +
      `Watch its messages:\n  mosquitto_sub -h ${url.hostname} -p ${url.port || 1883} -t '${config.mqtt.prefix}/${config.device.id}/#' -v\n` +
      `Stop it with Ctrl-C.\n\n`,
  );
  // Keep running until a signal arrives.
  await new Promise<never>(() => undefined);
  return 0;
}
