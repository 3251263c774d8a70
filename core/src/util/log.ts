import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

export interface LoggerOptions {
  level?: LevelWithSilent;
  /** Force JSON lines even on a terminal (log shippers, systemd journal with json parsing). */
  json?: boolean;
}

/**
 * Logs go to stderr so that `--json` output on stdout stays one clean document. On a terminal
 * they are pretty-printed for people; otherwise (systemd, pipes) they are JSON lines.
 */
export function createLogger(name: string, options: LoggerOptions = {}): Logger {
  const level = options.level ?? ((process.env.KESTREL_LOG_LEVEL as LevelWithSilent | undefined) ?? 'info');
  const pretty = !options.json && process.env.KESTREL_LOG_FORMAT !== 'json' && process.stderr.isTTY;
  const redact = { paths: ['password', '*.password', 'token', '*.token', 'url', '*.url'], censor: redactValue };
  if (pretty) {
    return pino({
      name,
      level,
      redact,
      transport: { target: 'pino-pretty', options: { destination: 2, colorize: true, ignore: 'pid,hostname', translateTime: 'SYS:HH:MM:ss.l' } },
    });
  }
  return pino({ name, level, redact, base: { name } }, pino.destination({ fd: 2, sync: false }));
}

/** Secrets never reach logs: passwords and tokens are replaced, URLs lose their credentials. */
function redactValue(value: unknown, path: string[]): unknown {
  const key = path[path.length - 1];
  if (key === 'url' && typeof value === 'string') return redactUrl(value);
  return value === undefined ? value : '[redacted]';
}

export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)([^/@]*)@/i, (_m, scheme: string) => `${scheme}***@`);
}

/** A logger that drops everything, for library callers that pass none. */
export const silentLogger: Logger = pino({ level: 'silent' });
