import type { FaultResult } from './faults.ts';

/** The p-th percentile (0–100) of `values`, nearest rank; undefined when empty. */
export function percentile(values: readonly number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

const seconds = (ms: number | undefined): string =>
  ms === undefined ? '–' : `${(ms / 1000).toFixed(1)} s`;

/**
 * The Markdown table of docs/reliability.md: fault, what the run did, cycles, acknowledged,
 * acknowledged-and-lost, duplicated reports and alerts, recovery p50/p99, throughput
 * before/during, verdict.
 */
export function renderFaultTable(results: readonly FaultResult[]): string {
  const rows = results.map((r) => {
    const refused = Object.entries(r.refused)
      .map(([code, n]) => `${String(n)} ${code}`)
      .join(', ');
    return [
      `${r.id} ${r.fault}`,
      r.did,
      String(r.cycles),
      `${String(r.acked)}${refused === '' ? '' : ` (refused: ${refused})`}`,
      String(r.lost),
      `${String(r.duplicatedReports)} / ${String(r.duplicatedAlerts)}`,
      `${seconds(percentile(r.recoveryMs, 50))} / ${seconds(percentile(r.recoveryMs, 99))}`,
      `${String(r.throughput.before)} → ${String(r.throughput.during)}/s`,
      r.error === undefined ? r.verdict : `${r.verdict}: ${r.error}`,
    ];
  });
  const header = [
    'fault',
    'what we did',
    'cycles',
    'acked',
    'acked and lost',
    'duplicated reports / alerts',
    'recovery p50 / p99',
    'acks/s before → during',
    'verdict',
  ];
  const line = (cells: readonly string[]): string =>
    `| ${cells.map((c) => c.replaceAll('|', '\\|')).join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}
