import { Writable } from 'node:stream';
import { createLogger, type Logger } from '@mosaic/log';

/** A logger whose JSON records a test reads back; see `logSink`. */
export interface LogSink {
  /** JSON lines, level `debug` unless asked otherwise. */
  log: Logger;
  /** Every record so far, parsed. */
  records: Record<string, unknown>[];
  /** The raw lines, for what JSON.parse would hide (a repeated key). */
  lines: string[];
}

/**
 * A root logger of `service` (via `@mosaic/log`) whose records a test asserts on by field,
 * never by text.
 *
 * @example
 * ```ts
 * const sink = logSink('ingest');
 * await startIngest({ …, log: sink.log });
 * expect(sink.records).toContainEqual(expect.objectContaining({ msg: 'report stored' }));
 * ```
 */
export function logSink(service: string, options: { level?: string } = {}): LogSink {
  const records: Record<string, unknown>[] = [];
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n'))
        if (line.trim() !== '') {
          lines.push(line);
          records.push(JSON.parse(line) as Record<string, unknown>);
        }
      callback();
    },
  });
  return {
    log: createLogger({ service, level: options.level ?? 'debug', pretty: false, destination }),
    records,
    lines,
  };
}
