import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../src/index.ts';

function sink(): {
  stream: Writable;
  records: () => Record<string, unknown>[];
  text: () => string;
} {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString('utf8'));
      cb();
    },
  });
  const text = () => chunks.join('');
  const records = () =>
    text()
      .split('\n')
      .filter((l) => l.length > 0)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { stream, records, text };
}

describe('createLogger', () => {
  it('writes JSON records bound to service and component', () => {
    const out = sink();
    const log = createLogger({ service: 'ingest', destination: out.stream, pretty: false });
    log.child({ component: 'verify', agency: 'nl-police' }).warn({ reportId: 'r1' }, 'rejected');
    const [record] = out.records();
    expect(record).toMatchObject({
      service: 'ingest',
      component: 'verify',
      agency: 'nl-police',
      reportId: 'r1',
      msg: 'rejected',
      level: 40,
    });
    expect(typeof record?.['time']).toBe('string');
    expect(Date.parse(String(record?.['time']))).not.toBeNaN();
  });

  it('honours the level', () => {
    const out = sink();
    const log = createLogger({
      service: 's',
      destination: out.stream,
      pretty: false,
      level: 'warn',
    });
    log.info('hidden');
    log.error('shown');
    expect(out.records().map((r) => r['msg'])).toEqual(['shown']);
  });

  it('writes readable lines, not JSON, when pretty', () => {
    const out = sink();
    const log = createLogger({ service: 'router', destination: out.stream, pretty: true });
    log.info('hello there');
    expect(out.text()).toContain('hello there');
    expect(() => {
      JSON.parse(out.text().trim());
    }).toThrow();
  });
});
