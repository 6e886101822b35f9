/**
 * STIX export (and import) throughput, offline: `tsx packages/stix/bench/export.ts [out.json]
 * [--reports=N]`. Prints objects/s to stdout and, given a path, writes the result as JSON.
 * `npm run bench` measures the same export in its interop stage (`bench/lib/interop.ts`).
 */
import { randomUUID } from 'node:crypto';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { validateReport } from '@mosaic/contract';
import type { Report } from '@mosaic/contract';
import { bundleToReports, reportsToBundle } from '../src/index.ts';

export interface StixExportResult {
  reports: number;
  indicators: number;
  objects: number;
  bundleBytes: number;
  exportSeconds: number;
  exportObjectsPerSecond: number;
  exportReportsPerSecond: number;
  importSeconds: number;
  importObjectsPerSecond: number;
}

/** Reports like the examples (without lineage, so that each stands alone), under fresh ids. */
function corpus(count: number): Report[] {
  const dir = new URL('../../../schemas/examples/valid/', import.meta.url);
  const examples = readdirSync(dir)
    .filter((file) => file.endsWith('.json'))
    .map((file) => validateReport(JSON.parse(readFileSync(new URL(file, dir), 'utf8'))))
    .filter((report) => report.indicators.length > 0);
  return Array.from({ length: count }, (_, i) => {
    const report: Report = { ...examples[i % examples.length]!, reportId: randomUUID() };
    delete report.lineage;
    return report;
  });
}

/** Exports `count` reports in batches of `batch` per bundle, then imports every bundle. */
export function measureStixExport(count = 5000, batch = 50): StixExportResult {
  const reports = corpus(count);
  reportsToBundle(reports.slice(0, batch).map((report) => ({ report }))); // warm-up
  const bundles = [];
  const started = performance.now();
  for (let i = 0; i < reports.length; i += batch)
    bundles.push(reportsToBundle(reports.slice(i, i + batch).map((report) => ({ report }))));
  const exportSeconds = (performance.now() - started) / 1000;
  const objects = bundles.reduce((sum, bundle) => sum + bundle.objects.length, 0);
  const wire = bundles.map((bundle) => JSON.stringify(bundle));
  const parsed = wire.map((text) => JSON.parse(text) as unknown);
  const importStarted = performance.now();
  for (const bundle of parsed)
    if (!bundleToReports(bundle).ok) throw new Error('the benchmark bundle did not import');
  const importSeconds = (performance.now() - importStarted) / 1000;
  return {
    reports: count,
    indicators: reports.reduce((sum, report) => sum + report.indicators.length, 0),
    objects,
    bundleBytes: wire.reduce((sum, text) => sum + Buffer.byteLength(text), 0),
    exportSeconds,
    exportObjectsPerSecond: Math.round(objects / exportSeconds),
    exportReportsPerSecond: Math.round(count / exportSeconds),
    importSeconds,
    importObjectsPerSecond: Math.round(objects / importSeconds),
  };
}

const argv = process.argv.slice(2);
const out = argv.find((arg) => !arg.startsWith('--'));
const reportsArg = argv.find((arg) => arg.startsWith('--reports='));
const result = measureStixExport(
  reportsArg === undefined ? undefined : Number(reportsArg.slice(10)),
);
process.stdout.write(
  `stix export: ${result.exportObjectsPerSecond} objects/s (${result.exportReportsPerSecond} reports/s, ${result.objects} objects); import: ${result.importObjectsPerSecond} objects/s\n`,
);
if (out !== undefined) writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
