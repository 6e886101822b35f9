/**
 * The pure parts of the benchmark harness (bench/): percentiles, the limit and ratio, the
 * targets, the result file's shape and the profile summary. Nothing here is timed.
 */
import { readFile, readdir } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { packageOf, summariseProfile, withSourceMap } from '../bench/lib/profile.ts';
import { connectionRole, formatTraffic, trafficPerReport } from '../bench/lib/traffic.ts';
import {
  checkTargets,
  computeLimit,
  cpuFloor,
  cpuPerReport,
  parseCount,
  parseFsyncRuns,
  percentiles,
  quantile,
  rate,
  ratio,
  renderTable,
  replayOnCores,
  resultFileName,
  resultProblems,
  type BenchResult,
  type EndToEndResult,
} from '../bench/lib/stats.ts';

describe('percentiles', () => {
  it('uses the nearest rank', () => {
    const samples = Array.from({ length: 100 }, (_, i) => 100 - i); // 100 … 1, unsorted
    expect(percentiles(samples)).toEqual({ count: 100, p50: 50, p95: 95, p99: 99, max: 100 });
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2);
    expect(quantile([7], 0.99)).toBe(7);
  });
  it('is NaN without samples', () => {
    expect(Number.isNaN(percentiles([]).p99)).toBe(true);
  });
});

describe('limit and ratio', () => {
  it('takes the smaller of storage and verification', () => {
    const storage = computeLimit({
      rawWritesPerSec: 20_000,
      writesPerReport: 4,
      verifyPerSecOneCore: 14_000,
      cores: 2,
    });
    expect(storage).toEqual({
      storage: 5_000,
      verify: 28_000,
      reportsPerSec: 5_000,
      boundBy: 'storage',
    });
    const verify = computeLimit({
      rawWritesPerSec: 200_000,
      writesPerReport: 4,
      verifyPerSecOneCore: 10_000,
      cores: 2,
    });
    expect(verify.boundBy).toBe('verify');
    expect(verify.reportsPerSec).toBe(20_000);
    expect(ratio(2_500, storage.reportsPerSec)).toBe(0.5);
    expect(ratio(1, 0)).toBe(0);
    expect(rate(500, 250)).toBe(2_000);
  });
});

function result(): BenchResult {
  const e2e: EndToEndResult = {
    fsync: 'default',
    publishers: 4,
    recipientsPerReport: 3,
    inFlight: 256,
    reports: 1_000,
    reportsPerSec: 1_000,
    cpuUsPerReport: { bench: 900, hub: 600, natsServer: 400 },
    busyCores: 1.9,
    acceptedPerSec: 1_100,
    alertsConsumed: 3_000,
    latency: {
      count: 3,
      p50: 5,
      p95: 20,
      p99: 30,
      max: 31,
      offeredPerSec: 500,
      achievedPerSec: 499,
    },
    streams: { REPORTS: 1_000, ALERTS: 3_000, AUDIT: 0 },
    writesPerReport: 4,
    hubPeakRssMb: 200,
    natsServerPeakRssMb: 90,
    limit: { storage: 2_500, verify: 28_000, reportsPerSec: 2_500, boundBy: 'storage' },
    ratio: 0.4,
  };
  const partial: Omit<BenchResult, 'targets'> = {
    schema: 'mosaic-bench/1',
    startedAt: '2026-11-23T20:00:00.000Z',
    durationSec: 1,
    mode: 'quick',
    source: { commit: 'abc', uncommittedFiles: 0 },
    machine: {
      cores: 2,
      cpuModel: 'x',
      memoryGb: 1,
      node: 'v20',
      natsServer: '2.15.1',
      natsClient: '3.4.0',
      otherLoad: 'idle',
    },
    limits: {
      publish: [
        { fsync: 'default', messages: 1, payloadBytes: 1_100, inFlight: 256, perSec: 10_000 },
      ],
      verify: {
        cryptoOneCore: 14_000,
        cryptoAllCores: 28_000,
        verifyReportOneCore: 9_000,
        verifyReportAllCores: 9_000,
        workers: 2,
      },
    },
    endToEnd: [e2e],
    policy: [
      {
        scenario: 'random',
        agencies: 10,
        rules: 40,
        usPerReport: 5,
        usPerReportExplain: 9,
        evaluatedPerReport: 4,
        recipientsPerReport: 1,
      },
      {
        scenario: 'random',
        agencies: 1000,
        rules: 4000,
        usPerReport: 6,
        usPerReportExplain: 9,
        evaluatedPerReport: 4,
        recipientsPerReport: 1,
      },
    ],
    replay: null,
    profile: null,
  };
  return { ...partial, targets: checkTargets(partial) };
}

describe('targets and result file', () => {
  it('judges each performance target', () => {
    const targets = result().targets;
    expect(targets.map((t) => [t.name, t.met])).toEqual([
      ['end-to-end ÷ limit (fsync default)', false],
      ['p99 publish→alert at half load (fsync default)', false],
      ['hub peak RSS under load (fsync default)', false],
      ['routing cost 1,000 agencies ÷ 10 (random)', true],
    ]);
  });
  it('names correlation off in each end-to-end target and the sustained row of a run with --no-correlation, not the cluster', () => {
    const base = result();
    const e2e = base.endToEnd[0];
    if (e2e === undefined) throw new Error('no end-to-end run in the fixture');
    // The floor's figures, so the CPU target is judged, and a cluster stage.
    const full: BenchResult = {
      ...base,
      limits: {
        publish: base.limits.publish.map((p) => ({ ...p, serverCpuUsPerWrite: 25 })),
        verify: { ...base.limits.verify, cpuUsPerSign: 50, cpuUsPerVerify: 100 },
      },
      cluster: { nodes: 3, replicas: 3, singleNode: e2e, cluster: e2e, agencyAdd: [] },
    };
    const off = { ...full, hubIndexedSelectors: false };
    const names = checkTargets(off).map((t) => t.name);
    expect(names).toEqual([
      'end-to-end ÷ limit (fsync default, correlation off)',
      'p99 publish→alert at half load (fsync default, correlation off)',
      'p99 publish→alert at half load (3-node cluster)',
      'CPU per report ÷ floor (fsync default, correlation off)',
      'hub peak RSS under load (fsync default, correlation off)',
      'routing cost 1,000 agencies ÷ 10 (random)',
    ]);
    const sustained = (r: BenchResult): string | undefined =>
      renderTable(r)
        .split('\n')
        .find((l) => l.startsWith('e2e fsync default: sustained'));
    expect(sustained({ ...off, targets: checkTargets(off) })).toContain(
      'correlation off: the hub indexed no selectors',
    );
    for (const on of [full, { ...full, hubIndexedSelectors: true }]) {
      expect(sustained(on)).not.toContain('correlation off');
      expect(checkTargets(on).map((t) => t.name)).toEqual(
        names.map((n) => n.replace(', correlation off', '')),
      );
    }
    expect(resultProblems(JSON.parse(JSON.stringify(off)))).toEqual([]);
    expect(resultProblems({ ...off, hubIndexedSelectors: 'no' })).toEqual([
      'hubIndexedSelectors is not a boolean',
    ]);
  });
  it('wants 50 % of the limit with the default fsync and 80 % with fsync always, and p99 on the cluster too', () => {
    const base = result();
    const e2e = base.endToEnd[0];
    if (e2e === undefined) throw new Error('no end-to-end run in the fixture');
    const at = (fsync: 'default' | 'always', ratio: number): boolean | undefined =>
      checkTargets({ ...base, endToEnd: [{ ...e2e, fsync, ratio }] }).find(
        (t) => t.name === `end-to-end ÷ limit (fsync ${fsync})`,
      )?.met;
    expect([
      at('default', 0.5),
      at('default', 0.49),
      at('always', 0.79),
      at('always', 0.8),
    ]).toEqual([true, false, false, true]);
    const fast = { ...e2e, latency: { ...e2e.latency, p99: 25 }, hubPeakRssMb: 150 };
    const cluster = {
      nodes: 3,
      replicas: 3,
      singleNode: fast,
      cluster: { ...fast, latency: { ...fast.latency, p99: 26 } },
      agencyAdd: [],
    };
    const judged = checkTargets({ ...base, endToEnd: [fast], cluster }).map((t) => [t.name, t.met]);
    expect(judged).toContainEqual(['p99 publish→alert at half load (fsync default)', true]);
    expect(judged).toContainEqual(['p99 publish→alert at half load (3-node cluster)', false]);
    expect(judged).toContainEqual(['hub peak RSS under load (fsync default)', true]);
  });
  it('judges mosaic replay --verify against Ed25519 on the cores it can use', () => {
    const base = result();
    const verify = base.limits.verify; // 28,000/s on 2 workers: 14,000 per core
    // Signatures are checked on the verifying thread: the main one alone is one core.
    expect(replayOnCores(11_200, 0, 2, verify)).toEqual({ coresUsed: 1, ratioCoresUsed: 0.8 });
    expect(replayOnCores(21_000, 2, 2, verify)).toEqual({ coresUsed: 2, ratioCoresUsed: 0.75 });
    expect(replayOnCores(21_000, 1, 2, verify)).toEqual({ coresUsed: 2, ratioCoresUsed: 0.75 });
    // On 16 cores: the main thread and the workers.
    expect(replayOnCores(14_000, 0, 16, verify).coresUsed).toBe(1);
    expect(replayOnCores(14_000, 4, 16, verify).coresUsed).toBe(5);
    expect(replayOnCores(14_000, 15, 16, verify).coresUsed).toBe(16);
    const withReplay = (perSec: number, workers: number) => {
      const cli = {
        reports: 10_000,
        perSec,
        wallSeconds: 3,
        workers,
        ...replayOnCores(perSec, workers, 2, verify),
        ratioOneCore: perSec / verify.cryptoOneCore,
        ratioVsVerifyReportOneCore: perSec / verify.verifyReportOneCore,
      };
      const replay = {
        reports: 10_000,
        storeSeconds: 1,
        verifyOneCorePerSec: 1,
        verifyAllCoresPerSec: 1,
        workers: 2,
        ratioOneCore: 0,
        ratioAllCores: 0,
        ratioVsVerifyReportOneCore: 0,
        ratioVsVerifyReportAllCores: 0,
        cli,
        audit: { skipped: 'not run' },
      };
      return checkTargets({ ...base, replay }).at(-1);
    };
    expect(withReplay(22_400, 2)).toMatchObject({
      name: 'mosaic replay --verify ÷ Ed25519 rate of the 2 cores it verifies on',
      measured: '80 %',
      met: true,
    });
    expect(withReplay(12_000, 2)).toMatchObject({ measured: '43 %', met: false });
    expect(withReplay(12_000, 0)).toMatchObject({
      name: 'mosaic replay --verify ÷ Ed25519 rate of the 1 core it verifies on',
      measured: '86 %',
      met: true,
    });
  });
  it('has the mosaic-bench/1 shape after a JSON round trip', () => {
    const r = result();
    expect(resultProblems(JSON.parse(JSON.stringify(r)))).toEqual([]);
    expect(resultProblems({ schema: 'other' })).toContain('missing endToEnd');
    expect(resultFileName(new Date('2026-11-23T20:01:02.345Z'))).toBe('2026-11-23T20-01-02Z.json');
    const table = renderTable(r);
    expect(table).toContain('e2e fsync default: sustained');
    expect(table).toContain('MISSED');
  });
  it('says where the hub process held its memory, ready and at its peak, when the run measured it', () => {
    const r = result();
    const e2e = r.endToEnd[0];
    if (e2e === undefined) throw new Error('the fixture has an end-to-end run');
    const row = (t: string): string | undefined =>
      t.split('\n').find((l) => l.startsWith('e2e fsync default: hub memory'));
    expect(row(renderTable(r))).toBeUndefined();
    const sample = { rss: 130, heapTotal: 50, heapUsed: 40, external: 12, arrayBuffers: 6 };
    e2e.hubMemory = {
      atStart: sample,
      atPeak: { rss: 290, heapTotal: 190, heapUsed: 165, external: 30, arrayBuffers: 24 },
    };
    expect(resultProblems(JSON.parse(JSON.stringify(r)))).toEqual([]);
    const line = row(renderTable(r));
    expect(line).toContain('130 → 290 MB');
    expect(line).toContain('ready RSS 130 MB: heap 40 of 50, external 12, the rest 68');
    expect(line).toContain('peak RSS 290 MB: heap 165 of 190, external 30, the rest 70');
  });
});

describe('CPU floor', () => {
  /** The fixture with the floor's figures: 50 µs of CPU per signature, 100 µs per verification. */
  function withFloorFigures(usPerWrite = 25): BenchResult {
    const r = result();
    return {
      ...r,
      limits: {
        publish: r.limits.publish.map((p) => ({ ...p, serverCpuUsPerWrite: usPerWrite })),
        verify: {
          ...r.limits.verify,
          cryptoSignOneCore: 20_000,
          cpuUsPerSign: 50,
          cpuUsPerVerify: 100,
        },
      },
    };
  }
  const floorTarget = (r: Omit<BenchResult, 'targets'>) =>
    checkTargets(r).find((t) => t.name === 'CPU per report ÷ floor (fsync default)');

  it('is one signature, and a verification and a write for the hub and each recipient', () => {
    const r = withFloorFigures();
    const e2e = r.endToEnd[0]!; // 3 recipients
    // 50 µs to sign; 4 × 100 µs to verify; 4 × 25 µs of nats-server per write.
    expect(cpuFloor(e2e, r.limits)).toEqual({
      sign: 50,
      verifications: 400,
      writes: 100,
      total: 550,
    });
    expect(cpuFloor({ ...e2e, recipientsPerReport: 0 }, r.limits)?.total).toBe(50 + 100 + 25);
    expect(cpuPerReport(e2e)).toBe(1_900);
  });
  it('uses the raw writes of the run’s own fsync mode', () => {
    const r = withFloorFigures();
    const always = { fsync: 'always' as const, messages: 1, payloadBytes: 1_100, inFlight: 256 };
    const limits = {
      ...r.limits,
      publish: [...r.limits.publish, { ...always, perSec: 500, serverCpuUsPerWrite: 200 }],
    };
    expect(cpuFloor({ fsync: 'always', recipientsPerReport: 3 }, limits)?.writes).toBe(800);
    expect(cpuFloor({ fsync: 'default', recipientsPerReport: 3 }, limits)?.writes).toBe(100);
  });
  it('is CPU time, so a loaded machine’s slower wall-clock rates do not raise it', () => {
    const r = withFloorFigures();
    // Other processes took most of the cores: the loops' rates per wall second fell tenfold.
    const loaded = {
      ...r.limits,
      verify: { ...r.limits.verify, cryptoOneCore: 1_400, cryptoSignOneCore: 2_000 },
    };
    expect(cpuFloor(r.endToEnd[0]!, loaded)).toEqual(cpuFloor(r.endToEnd[0]!, r.limits));
  });
  it('judges CPU per report at most twice the floor', () => {
    const r = withFloorFigures();
    const e2e = r.endToEnd[0]!;
    const at = (bench: number) =>
      floorTarget({
        ...r,
        endToEnd: [{ ...e2e, cpuUsPerReport: { bench, hub: 400, natsServer: 300 } }],
      });
    // Floor 550 µs: 1,100 µs is exactly 2×, 1,101 µs is over.
    expect(at(400)).toEqual({
      name: 'CPU per report ÷ floor (fsync default)',
      target: '≤ 2×',
      measured: '2.00×',
      met: true,
    });
    expect(at(401)).toMatchObject({ measured: '2.00×', met: false });
    expect(at(1_500)).toMatchObject({ measured: '4.00×', met: false });
    // The fixture's 1,900 µs against 550 µs.
    expect(floorTarget(r)).toMatchObject({ measured: '3.45×', met: false });
    const lines = renderTable({ ...r, targets: checkTargets(r) }).split('\n');
    expect(lines.find((l) => l.startsWith('e2e fsync default: CPU floor per report'))).toMatch(
      /550 µs +sign 50\.0, 4 verifications 400\.0, nats-server for 4 writes 100\.0; CPU per report 3\.45× it$/,
    );
    expect(lines.find((l) => l.startsWith('Ed25519 sign (crypto.sign), 1 core'))).toMatch(
      /20,000 \/s +50\.0 µs CPU each$/,
    );
    expect(lines.find((l) => l.startsWith('Ed25519 verify (crypto.verify), 1 core'))).toMatch(
      /14,000 \/s +100\.0 µs CPU each$/,
    );
    expect(lines.find((l) => l.startsWith('raw JetStream publish, fsync default'))).toContain(
      'nats-server 25.0 µs CPU per msg',
    );
    expect(
      lines.find((l) => l.startsWith('target: CPU per report ÷ floor (fsync default)')),
    ).toMatch(/3\.45× +≤ 2× MISSED$/);
  });
  it('is not judged without the figures it needs, and old results still render', () => {
    const old = result(); // written before the sign rate and nats-server CPU were measured
    expect(cpuFloor(old.endToEnd[0]!, old.limits)).toBeNull();
    expect(floorTarget(old)).toBeUndefined();
    const notRun = withFloorFigures(Number.NaN);
    expect(cpuFloor(notRun.endToEnd[0]!, notRun.limits)).toBeNull();
    const withRatesOnly = withFloorFigures();
    delete withRatesOnly.limits.verify.cpuUsPerVerify;
    expect(cpuFloor(withRatesOnly.endToEnd[0]!, withRatesOnly.limits)).toBeNull();
    const table = renderTable(old);
    expect(table).not.toContain('floor');
    expect(table).not.toContain('crypto.sign');
    expect(resultProblems(JSON.parse(JSON.stringify(old)))).toEqual([]);
  });
  it('renders every mosaic-bench/1 result kept in docs/bench', async () => {
    const dir = new URL('../docs/bench/', import.meta.url);
    let rendered = 0;
    for (const name of (await readdir(dir)).filter((f) => f.endsWith('.json'))) {
      const parsed: unknown = JSON.parse(await readFile(new URL(name, dir), 'utf8'));
      if ((parsed as { schema?: unknown }).schema !== 'mosaic-bench/1') continue;
      expect(resultProblems(parsed), name).toEqual([]);
      const floorRows = renderTable(parsed as BenchResult)
        .split('\n')
        .filter((l) => /floor|crypto\.sign|µs CPU/.test(l));
      for (const row of floorRows) expect(row, name).not.toMatch(/undefined|NaN/);
      rendered++;
    }
    expect(rendered).toBeGreaterThan(0);
  });
});

describe('end-to-end fsync runs', () => {
  it('runs default then always unless told, each labelled by its mode', () => {
    const both = [
      { fsync: 'default', label: 'default' },
      { fsync: 'always', label: 'always' },
    ];
    expect(parseFsyncRuns(undefined)).toEqual(both);
    expect(parseFsyncRuns('both')).toEqual(both);
    expect(parseFsyncRuns('always')).toEqual([{ fsync: 'always', label: 'always' }]);
  });
  it('runs a list in its order, a repeated mode under its own label', () => {
    expect(parseFsyncRuns('always,default,default,always')).toEqual([
      { fsync: 'always', label: 'always' },
      { fsync: 'default', label: 'default' },
      { fsync: 'default', label: 'default-2' },
      { fsync: 'always', label: 'always-2' },
    ]);
  });
  it('refuses anything else', () => {
    for (const bad of ['', 'sometimes', 'default,', 'both,always', 'Default'])
      expect(() => parseFsyncRuns(bad)).toThrow(/--fsync must be/);
  });
});

describe('correlation stage', () => {
  it('reads --index-tokens in any notation Number reads, and nothing else', () => {
    expect(parseCount('index-tokens', undefined, 1_000_000)).toBe(1_000_000);
    expect(parseCount('index-tokens', '1e6', 5)).toBe(1_000_000);
    expect(parseCount('index-tokens', '20000', 5)).toBe(20_000);
    for (const bad of ['', ' ', '0', '-3', '1.5', 'many', '1e20'])
      expect(() => parseCount('index-tokens', bad, 5)).toThrow(/--index-tokens must be/);
  });
  it('prints its figures next to each other', () => {
    const lookup = { count: 2_000, p50: 0.21, p95: 0.3, p99: 0.48, max: 2 };
    const r: BenchResult = {
      ...result(),
      correlation: {
        oprf: {
          suite: 'ristretto255-SHA512 POPRF',
          batch: 64,
          seconds: 3,
          evaluationsPerSecond: 3_900,
          scalarMultiplicationsPerSecond: 4_300,
          evaluationsPerMultiplication: 0.907,
        },
        keyService: { batch: 64, batches: 150, seconds: 3, evaluationsPerSecond: 3_200 },
        holdingsCheck: {
          selectors: 1_000,
          registerMs: 900,
          checkMs: [812, 790],
          hitsLastRound: 500,
        },
        index: {
          tokens: 1_000_000,
          fill: { seconds: 41.5, perSec: 24_096, inFlight: 2_048 },
          streamBytes: 320 * 2 ** 20,
          diskBytes: 400 * 2 ** 20,
          present: { ...lookup, entriesFound: 2_000 },
          absent: { ...lookup, p50: 0.12, entriesFound: 0 },
        },
      },
    };
    expect(resultProblems(JSON.parse(JSON.stringify(r)))).toEqual([]);
    const lines = renderTable(r).split('\n');
    const row = (what: string): string | undefined => lines.find((l) => l.startsWith(what));
    expect(row('correlation: ristretto255 scalar multiplication')).toContain('4,300 /s');
    expect(row('correlation: key-service evaluations in process')).toContain('3,900 /s');
    expect(row('correlation: key-service evaluations over NATS')).toContain('3,200 /s');
    expect(row('correlation: check 1,000 selectors')).toContain('812 / 790 ms');
    expect(row('correlation: index lookup, 1,000,000 tokens, present')).toContain('0.21 / 0.48 ms');
    expect(row('correlation: index lookup, 1,000,000 tokens, absent')).toContain('0.12 / 0.48 ms');
    expect(row('correlation: index of 1,000,000 tokens on disk')).toContain('400 MiB');
    expect(renderTable(result())).not.toContain('correlation:');
  });
});

describe('profile summary', () => {
  it('adds self time per function and package, idle apart', () => {
    const summary = summariseProfile({
      nodes: [
        { id: 1, callFrame: { functionName: '(root)', url: '', lineNumber: -1 } },
        { id: 2, callFrame: { functionName: '(idle)', url: '', lineNumber: -1 } },
        {
          id: 3,
          callFrame: {
            functionName: 'publish',
            url: 'file:///r/node_modules/@nats-io/jetstream/lib/jsclient.js',
            lineNumber: 9,
          },
        },
        {
          id: 4,
          callFrame: {
            functionName: 'verifyReport',
            url: 'file:///r/packages/signing/src/verify.ts',
            lineNumber: 0,
          },
        },
      ],
      samples: [2, 3, 3, 4],
      timeDeltas: [1_000, 1_000, 1_000, 1_000],
    });
    expect(summary.totalMs).toBe(4);
    expect(summary.idlePct).toBe(25);
    expect(summary.top[0]).toMatchObject({ fn: 'publish', selfMs: 2, selfPct: 50 });
    expect(summary.byPackage.map((p) => p.name)).toEqual([
      '@nats-io/jetstream',
      'packages/signing',
    ]);
    expect(packageOf('node:internal/crypto/util', 'x')).toBe('node internals');
    expect(packageOf('', '(garbage collector)')).toBe('(garbage collector)');
  });

  it("counts a compiled file's frames by the sources its map names", () => {
    const compiled = 'file:///w/dist/hub-child.mjs';
    const frame = (id: number, functionName: string, url: string, lineNumber: number) => ({
      id,
      callFrame: { functionName, url, lineNumber, columnNumber: 0 },
    });
    const profile = {
      nodes: [
        frame(1, 'route', compiled, 0),
        frame(2, 'accept', compiled, 1),
        // A line the map does not cover, and a frame of another file: left as they are.
        frame(3, 'banner', compiled, 5),
        frame(4, 'publish', 'file:///w/node_modules/@nats-io/jetstream/lib/jsclient.js', 3),
      ],
      samples: [1, 1, 2, 3, 4],
      timeDeltas: [1_000, 1_000, 1_000, 1_000, 1_000],
    };
    // Line 0 from router's a.ts, line 1 from ingest's b.ts, each from its first column.
    const map = {
      version: 3,
      file: 'hub-child.mjs',
      sourceRoot: '',
      sources: ['../packages/router/src/a.ts', '../services/ingest/src/b.ts'],
      sourcesContent: [],
      names: [],
      mappings: 'AAAA;ACAA',
    };
    const summary = summariseProfile(withSourceMap(profile, compiled, map));
    expect(summary.byPackage.map((p) => [p.name, p.selfMs])).toEqual([
      ['packages/router', 2],
      ['services/ingest', 1],
      ['/w/dist/hub-child.mjs', 1],
      ['@nats-io/jetstream', 1],
    ]);
    expect(summary.top.find((f) => f.fn === 'accept')?.where).toBe('services/ingest/src/b.ts:1');
  });
});

describe('NATS messages per report', () => {
  const conn = (cid: number, name: string | undefined, inMsgs: number, outMsgs: number) => ({
    cid,
    ...(name === undefined ? {} : { name }),
    in_msgs: inMsgs,
    out_msgs: outMsgs,
  });

  it('names a connection by the hub service it belongs to, or as an agency', () => {
    expect(connectionRole('mosaic-router')).toBe('router');
    expect(connectionRole('mosaic-selector-keys')).toBe('selector-keys');
    expect(connectionRole('mosaic-agency-rcv-nl')).toBe('agencies');
    expect(connectionRole(undefined)).toBe('unnamed');
    expect(connectionRole('nats-cli')).toBe('nats-cli');
  });

  it('counts what each connection did between the snapshots, per report, summed by role', () => {
    const before = new Map([
      ['0/1', conn(1, 'mosaic-router', 100, 200)],
      ['0/2', conn(2, 'mosaic-agency-pub-0', 10, 10)],
      ['0/3', conn(3, 'mosaic-agency-rcv-nl', 0, 5)],
    ]);
    const after = new Map([
      ['0/1', conn(1, 'mosaic-router', 1_100, 2_200)],
      ['0/2', conn(2, 'mosaic-agency-pub-0', 110, 110)],
      ['0/3', conn(3, 'mosaic-agency-rcv-nl', 100, 205)],
      // Opened after the first snapshot: counted from zero.
      ['1/3', conn(3, 'mosaic-ingest', 300, 300)],
    ]);
    const t = trafficPerReport(before, after, 100);
    expect(t.byRole).toEqual({
      router: { in: 10, out: 20 },
      agencies: { in: 2, out: 3 },
      ingest: { in: 3, out: 3 },
    });
    expect(t.total).toEqual({ in: 15, out: 26 });
    expect(formatTraffic(t)).toBe('router 10.0 / 20.0, ingest 3.0 / 3.0, agencies 2.0 / 3.0');
  });
});
