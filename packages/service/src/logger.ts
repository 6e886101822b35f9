import { createLogger, type Logger } from '@mosaic/log';

/**
 * The logger of service `name`: records carry `service: name`, or `component: name` when
 * the parent already names another service (inside `mosaic dev` the root logger names the
 * hub, and pino would repeat a re-bound key). Without a parent, a new root logger.
 *
 * @example
 * ```ts
 * const log = serviceLogger('ingest', options.log);
 * log.info({ concurrency }, 'ingest ready');
 * ```
 */
export function serviceLogger(name: string, parent?: Logger): Logger {
  if (parent === undefined) return createLogger({ service: name });
  const bindings = parent.bindings() as { service?: unknown };
  if (bindings.service === name) return parent;
  return parent.child(bindings.service === undefined ? { service: name } : { component: name });
}
