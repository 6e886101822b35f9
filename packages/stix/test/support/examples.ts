import { readFileSync, readdirSync } from 'node:fs';
import { validateReport } from '@mosaic/contract';
import type { Report } from '@mosaic/contract';

const dir = new URL('../../../../schemas/examples/valid/', import.meta.url);

/** Every valid example report, by file name without `.json`. */
export function examples(): { name: string; report: Report }[] {
  return readdirSync(dir)
    .filter((file) => file.endsWith('.json'))
    .sort()
    .map((file) => ({
      name: file.slice(0, -'.json'.length),
      report: validateReport(JSON.parse(readFileSync(new URL(file, dir), 'utf8'))),
    }));
}

/** One example report, as a fresh copy. */
export function example(name: string): Report {
  const found = examples().find((entry) => entry.name === name);
  if (found === undefined) throw new Error(`no example ${name}`);
  return found.report;
}

/** A bundle as a receiver parses it: plain JSON, nothing shared with the exporter's objects. */
export function overTheWire(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value)) as unknown;
}
