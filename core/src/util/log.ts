import { pino, type Logger, type LevelWithSilent } from 'pino';
import { prettyFactory } from 'pino-pretty';
import { writeAboveBottomLine } from './terminal.js';

export type { Logger };

export interface LoggerOptions {
  level?: LevelWithSilent;
  /** Force JSON lines even on a terminal (log shippers, systemd journal with json parsing). */
  json?: boolean;
}

/**
 * Whether logs are for a person: stderr is a terminal and JSON was not asked for
 * (`KESTREL_LOG_FORMAT=json`). Otherwise (systemd, pipes, log shippers) stderr carries JSON lines
 * only, so whatever else a command would tell a person (a banner, hints) is printed only when this is true.
 */
export function logsArePretty(options: { json?: boolean } = {}): boolean {
  return !options.json && process.env.KESTREL_LOG_FORMAT !== 'json' && process.stderr.isTTY === true;
}

/**
 * Logs go to stderr so that `--json` output on stdout stays one clean document. On a terminal
 * they are pretty-printed for people, one line per message (fields inline, as `key: value`
 * pairs); otherwise they are JSON lines.
 */
export function createLogger(name: string, options: LoggerOptions = {}): Logger {
  const level = options.level ?? ((process.env.KESTREL_LOG_LEVEL as LevelWithSilent | undefined) ?? 'info');
  const redact = { paths: ['password', '*.password', 'token', '*.token', 'url', '*.url'], censor: redactValue };
  if (logsArePretty(options)) {
    // Formatted and written in this thread, synchronously (not pino-pretty's worker transport):
    // lines then come out in order with the banner and around a progress bar (terminal.ts).
    const prettify = prettyFactory({ colorize: true, singleLine: true, ignore: 'pid,hostname', translateTime: 'SYS:HH:MM:ss.l' });
    return pino({ name, level, redact }, { write: (line: string) => writeAboveBottomLine(prettify(line)) });
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
