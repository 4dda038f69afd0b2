/**
 * Logging. Components write JSON lines to stderr through pino, with kubernetes' structured
 * keys (`ts` in float seconds, `msg`, `err`) so that `journalctl -u skiff` reads like the
 * output of kubelet's `--logging-format=json`.
 */
import { pino, type Logger as PinoLogger } from 'pino';

/** The logger every subsystem takes by injection. A child logger adds bound fields. */
export type Logger = PinoLogger;

/** Options for {@link createLogger}. */
export interface LoggerOptions {
  /** pino level name; defaults to `info`, or `$SKIFF_LOG_LEVEL`. */
  level?: string;
  /** Bound fields such as `{ component: 'agent' }`. */
  base?: Record<string, unknown>;
  /** Destination file descriptor; defaults to 2 (stderr). */
  fd?: number;
}

/** Creates the process logger. */
export function createLogger(opts: LoggerOptions = {}): Logger {
  return pino(
    {
      level: opts.level ?? process.env.SKIFF_LOG_LEVEL ?? 'info',
      base: opts.base ?? {},
      messageKey: 'msg',
      errorKey: 'err',
      timestamp: () => `,"ts":${(Date.now() / 1000).toFixed(6)}`,
      formatters: { level: (label) => ({ level: label }) },
    },
    pino.destination({ fd: opts.fd ?? 2, sync: false }),
  );
}

/** A logger that drops everything, for tests. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
