import { pino, type DestinationStream, type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger } from 'pino';

export interface LoggerOptions {
  /** Bound to every record as `service`. */
  service: string;
  /** Default: `MOSAIC_LOG_LEVEL`, else `info`. */
  level?: string;
  /**
   * Human-readable output. Default: true when the destination is a terminal and
   * `MOSAIC_LOG_FORMAT` is not `json`.
   */
  pretty?: boolean;
  /** Default: stderr, so stdout stays free for command results. */
  destination?: DestinationStream & { isTTY?: boolean };
}

/**
 * Creates the root logger of a service: JSON lines by default, readable on a terminal.
 *
 * @example
 * ```ts
 * const log = createLogger({ service: 'ingest' });
 * const ingestLog = log.child({ component: 'verify', agency: 'nl-politie' });
 * ingestLog.info({ reportId }, 'report accepted');
 * ```
 */
export function createLogger(options: LoggerOptions): Logger {
  const destination = options.destination ?? process.stderr;
  const level = options.level ?? process.env['MOSAIC_LOG_LEVEL'] ?? 'info';
  const wantPretty =
    options.pretty ?? (destination.isTTY === true && process.env['MOSAIC_LOG_FORMAT'] !== 'json');
  const base = { service: options.service };
  const stream = wantPretty
    ? // One line per record, clock time only: a terminal shows what happens, not a dump.
      pretty({
        destination,
        colorize: destination.isTTY === true,
        sync: true,
        singleLine: true,
        ignore: 'pid,hostname',
        translateTime: 'SYS:HH:MM:ss',
      })
    : destination;
  return pino({ level, base, timestamp: pino.stdTimeFunctions.isoTime }, stream);
}
