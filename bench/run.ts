/**
 * `npm run bench` — Mosaic's benchmark suite. Starts its own nats-servers and hub,
 * prints a table and writes `bench/results/<timestamp>.json`. See docs/performance.md.
 *
 *   npm run bench                 full run (< 10 min on 2 cores)
 *   npm run bench -- --quick      ~1-minute smoke run with small sizes
 *   options: --only=limits,policy,e2e,profile,replay,cluster,interop,correlation
 *            --e2e-seconds=S (sustained phase)
 *            --reports=N (instead: a fixed count)  --replay-reports=N
 *            --replay-workers=N (mosaic replay --workers; default as mosaic replay's)
 *            --publishers=N  --in-flight=N  --no-profile
 *            --fsync=default|always|both|<modes in order, e.g. default,always,always,default>
 *            --index-tokens=N (SELECTOR_INDEX size for the correlation stage, default 1e6)
 *            --keep (the work dir: hub logs, data dirs)  --out=<file>
 *            --hub-from-source (the hub child through tsx, not compiled)
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { defaultVerifyWorkers } from '@mosaic/cli';
import { ensureNatsServer } from '@mosaic/nats-server';
import { generateAgencyKey } from '@mosaic/signing';
import { clusterBench } from './lib/cluster.ts';
import { endToEnd } from './lib/e2e.ts';
import { interopBench } from './lib/interop.ts';
import { benchReport, fastSigner } from './lib/fixtures.ts';
import { cores, rawPublish, verifyRates } from './lib/limits.ts';
import { policyScaling } from './lib/policy-scaling.ts';
import { startPool } from './lib/pool.ts';
import { cliAuditVerify, cliReplay, hasAuditCli } from './lib/cli-replay.ts';
import { hubCorrelation } from './lib/holdings.ts';
import { oprfRates } from './lib/oprf.ts';
import { indexLookup } from './lib/selector-index.ts';
import { replay } from './lib/replay.ts';
import {
  checkTargets,
  parseCount,
  parseFsyncRuns,
  renderTable,
  replayOnCores,
  resultFileName,
  type BenchResult,
  type CorrelationResult,
  type EndToEndResult,
  type FsyncMode,
  type RawPublishResult,
  type ReplayResult,
} from './lib/stats.ts';

const root = fileURLToPath(new URL('../', import.meta.url));
/** libuv's thread pool, where WebCrypto (jose) verifies: 4 threads unless set. */
const argv = process.argv.slice(2);
const flag = (name: string): boolean => argv.includes(`--${name}`);
const option = (name: string): string | undefined =>
  argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const num = (name: string, fallback: number): number => {
  const v = option(name);
  return v === undefined ? fallback : Number(v);
};

if (flag('help')) {
  process.stdout.write(
    `${[
      'npm run bench [-- options]   (docs/performance.md)',
      '  --quick                     small sizes (~1 minute)',
      '  --only=limits,policy,e2e,profile,replay,cluster,interop,correlation',
      '  --fsync=default|always|both end-to-end fsync modes (both: default then always), or a',
      '                              list run back to back in that order: default,always,always,default',
      '  --e2e-seconds=S | --reports=N   length of the sustained phase / a fixed count',
      '  --publishers=N --in-flight=N    publisher agencies (4), submissions in flight (256)',
      '  --replay-reports=N --replay-workers=N --index-tokens=N',
      '  --no-profile --keep --out=F     skip the profile; keep the work dir; result file',
      '  --hub-from-source           the end-to-end hub child from its source through tsx, not compiled',
      "  --no-correlation            the end-to-end and profile stages' hub child indexes no selectors",
      '                              (what correlation costs; their targets then judge a hub not as shipped)',
    ].join('\n')}\n`,
  );
  process.exit(0);
}
const quick = flag('quick');
/** The end-to-end and profile stages' hub child indexes selectors unless --no-correlation. */
const indexSelectors = !flag('no-correlation');
const fsyncRuns = parseFsyncRuns(option('fsync'));
const only = new Set(
  (option('only') ?? 'limits,policy,e2e,profile,replay,cluster,interop,correlation')
    .split(',')
    .map((s) => s.trim()),
);
if (flag('no-profile')) only.delete('profile');
const sizes = {
  rawMs: quick ? 1_500 : 5_000,
  verifyMs: quick ? 1_000 : 3_000,
  publishers: num('publishers', 4),
  inFlight: num('in-flight', 256),
  // The sustained phase lasts about this long (sized from the warm-up), unless --reports.
  reports:
    option('reports') === undefined
      ? { seconds: num('e2e-seconds', quick ? 5 : 30) }
      : num('reports', 2_000),
  latencySeconds: quick ? 4 : 15,
  profileSeconds: quick ? 3 : 12,
  policyReports: quick ? 500 : 2_000,
  policyRounds: quick ? 2 : 5,
  replayReports: num('replay-reports', quick ? 10_000 : 100_000),
  // Under the gateway's default 600 requests a minute per agency.
  interopReports: quick ? 100 : 500,
  stixReports: quick ? 1_000 : 5_000,
  // Correlation: blinded elements per key-service request, seconds per rate, index size.
  oprfBatch: 64,
  oprfSeconds: quick ? 1 : 3,
  holdingsRounds: quick ? 1 : 3,
  indexTokens: parseCount('index-tokens', option('index-tokens'), quick ? 20_000 : 1_000_000),
  indexLookups: quick ? 500 : 2_000,
};

const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

async function otherLoad(): Promise<string> {
  let others: string[] = [];
  try {
    const { stdout } = await promisify(execFile)('pgrep', ['-fa', 'vitest']);
    others = stdout.split('\n').filter((l) => l.trim() !== '' && !l.startsWith(`${process.pid} `));
  } catch (err) {
    // pgrep exits 1 when nothing matches.
    if (!(err instanceof Error && 'code' in err && err.code === 1)) throw err;
  }
  const load = loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
  return `${others.length === 0 ? 'no other vitest processes' : `${others.length} other vitest processes running`}; load average ${load}`;
}

async function source(): Promise<BenchResult['source']> {
  const git = (...args: string[]): Promise<string> =>
    promisify(execFile)('git', args, { cwd: root }).then((r) => r.stdout);
  const commit = (await git('rev-parse', 'HEAD')).trim();
  const changed = (await git('status', '--porcelain', '--untracked-files=no'))
    .split('\n')
    .filter((l) => l.trim() !== '');
  return { commit, uncommittedFiles: changed.length };
}

async function main(): Promise<void> {
  const startedAt = new Date();
  const t0 = performance.now();
  const loadBefore = await otherLoad();
  log(
    `mosaic bench (${quick ? 'quick' : 'full'}${indexSelectors ? '' : ', correlation off'}); ${loadBefore}`,
  );
  const nats = await ensureNatsServer();
  const clientVersion = (
    JSON.parse(
      await readFile(join(root, 'node_modules/@nats-io/nats-core/package.json'), 'utf8'),
    ) as { version: string }
  ).version;
  const workDir = await mkdtemp(join(tmpdir(), 'mosaic-bench-'));
  await using pool = startPool(cores());
  try {
    const pair = await generateAgencyKey('pub-0', { keyId: 'k1' });
    const payload = new TextEncoder().encode(fastSigner(pair.privateJwk)(benchReport('pub-0', 1)));

    const publish: RawPublishResult[] = [];
    let verify: BenchResult['limits']['verify'] = {
      cryptoOneCore: Number.NaN,
      cryptoAllCores: Number.NaN,
      cryptoSignOneCore: Number.NaN,
      cpuUsPerSign: Number.NaN,
      cpuUsPerVerify: Number.NaN,
      verifyReportOneCore: Number.NaN,
      verifyReportAllCores: Number.NaN,
      workers: pool.size,
    };
    if (['limits', 'e2e', 'replay', 'profile', 'cluster'].some((stage) => only.has(stage))) {
      for (const fsync of ['default', 'always'] as const) {
        publish.push(await rawPublish(fsync, payload, sizes.inFlight, sizes.rawMs));
        const p = publish.at(-1)!;
        log(
          `  raw publish fsync ${fsync}: ${p.perSec.toFixed(0)}/s, nats-server ${p.serverCpuUsPerWrite?.toFixed(1)} µs CPU per msg`,
        );
      }
      verify = await verifyRates(pool, pair, sizes.verifyMs);
      log(
        `  sign: crypto ${verify.cryptoSignOneCore?.toFixed(0)}/s (1), ${verify.cpuUsPerSign?.toFixed(1)} µs CPU; verify: crypto ${verify.cryptoOneCore.toFixed(0)}/s (1), ${verify.cpuUsPerVerify?.toFixed(1)} µs CPU, ${verify.cryptoAllCores.toFixed(0)}/s (${pool.size}); verifyReport ${verify.verifyReportOneCore.toFixed(0)}/s (1), ${verify.verifyReportAllCores.toFixed(0)}/s (${pool.size})`,
      );
    }

    const policy = only.has('policy')
      ? policyScaling([10, 100, 1_000], sizes.policyReports, sizes.policyRounds)
      : [];
    if (policy.length > 0)
      log(
        `  policy: ${policy.map((p) => `${p.agencies}: ${p.usPerReport.toFixed(1)} µs`).join(', ')}`,
      );

    const rawRate = (fsync: FsyncMode): number =>
      publish.find((p) => p.fsync === fsync)?.perSec ?? Number.NaN;
    const e2eOptions = (fsync: FsyncMode, reports: number | { seconds: number }) => ({
      label: fsync,
      fsync,
      publishers: sizes.publishers,
      inFlight: sizes.inFlight,
      reports,
      latencySeconds: sizes.latencySeconds,
      workDir,
      pool,
      natsServerPath: nats.path,
      rawWritesPerSec: rawRate(fsync),
      verifyPerSecOneCore: verify.cryptoOneCore,
      hubFromSource: flag('hub-from-source'),
      correlation: indexSelectors,
      cores: cores(),
      log,
    });
    const endToEndResults: EndToEndResult[] = [];
    if (only.has('e2e'))
      for (const { fsync, label } of fsyncRuns) {
        const run = await endToEnd({ ...e2eOptions(fsync, sizes.reports), label });
        endToEndResults.push(run.result);
      }

    let profile: BenchResult['profile'] = null;
    if (only.has('profile')) {
      const run = await endToEnd({
        ...e2eOptions('default', { seconds: sizes.profileSeconds }),
        label: 'profile',
        latencySeconds: 2,
        profileFile: join(workDir, 'hub.cpuprofile'),
      });
      if (run.profile !== undefined)
        profile = { ...run.profile, fsync: 'default', reportsPerSec: run.result.reportsPerSec };
      log(
        `  profile: hub child under load, ${run.result.reportsPerSec.toFixed(0)} reports/s while profiled`,
      );
    }

    let replayResult: ReplayResult | undefined;
    if (only.has('replay')) {
      replayResult = await replay(pool, sizes.replayReports, verify, log);
      if (await hasAuditCli()) {
        const cli = await cliReplay({
          workDir,
          pool,
          total: sizes.replayReports,
          workers: option('replay-workers') ?? String(defaultVerifyWorkers(cores())),
          natsServerPath: nats.path,
          log,
        });
        log(`  mosaic replay --verify --workers ${cli.workers}: ${cli.perSec}/s`);
        replayResult.cli = {
          ...cli,
          ...replayOnCores(cli.perSec, cli.workers, cores(), verify),
          ratioOneCore: cli.perSec / verify.cryptoOneCore,
          ratioVsVerifyReportOneCore: cli.perSec / verify.verifyReportOneCore,
        };
        if (endToEndResults.some((e) => e.fsync === 'default')) {
          replayResult.audit = await cliAuditVerify({
            workDir,
            dataDir: join(workDir, 'data-default'),
            federationPath: join(workDir, 'federation-default.json'),
            natsServerPath: nats.path,
          });
          log(`  mosaic audit verify: ${replayResult.audit.perSec}/s`);
        } else
          replayResult.audit = { skipped: 'needs the fsync-default end-to-end run (--only=e2e)' };
      } else {
        const why = 'this tree has no mosaic replay --verify / mosaic audit verify yet';
        replayResult.cli = { skipped: why };
        replayResult.audit = { skipped: why };
      }
    }

    const cluster = only.has('cluster')
      ? // Its single node is compared with the cluster's `mosaic serve` processes, which
        // always correlate: so does it, whatever --no-correlation says.
        await clusterBench({ ...e2eOptions('always', sizes.reports), correlation: true })
      : null;

    const interop = only.has('interop')
      ? await interopBench({
          workDir,
          reports: sizes.interopReports,
          concurrency: 16,
          pageLimits: [100, 1000],
          stixReports: sizes.stixReports,
          log,
        })
      : null;

    let correlation: CorrelationResult | null = null;
    if (only.has('correlation')) {
      const oprf = oprfRates(sizes.oprfBatch, sizes.oprfSeconds);
      log(
        `  correlation: ${oprf.scalarMultiplicationsPerSecond} scalar multiplications/s, ${oprf.evaluationsPerSecond} evaluations/s in process (1 core)`,
      );
      const hub = await hubCorrelation({
        selectors: 1_000,
        rounds: sizes.holdingsRounds,
        keyService: { batch: sizes.oprfBatch, seconds: sizes.oprfSeconds },
      });
      log(
        `  correlation: ${hub.keyService!.evaluationsPerSecond} evaluations/s over NATS; check 1,000 selectors: ${hub.holdings.checkMs.join(' / ')} ms`,
      );
      const index = await indexLookup({
        tokens: sizes.indexTokens,
        lookups: sizes.indexLookups,
        inFlight: 2_048,
        log,
      });
      log(
        `  correlation: index of ${index.tokens} tokens, lookup p50/p99 ${index.present.p50}/${index.present.p99} ms present, ${index.absent.p50}/${index.absent.p99} ms absent`,
      );
      correlation = { oprf, keyService: hub.keyService!, holdingsCheck: hub.holdings, index };
    }

    const loadAfter = await otherLoad();
    const partial: Omit<BenchResult, 'targets'> = {
      schema: 'mosaic-bench/1',
      startedAt: startedAt.toISOString(),
      durationSec: (performance.now() - t0) / 1000,
      mode: quick ? 'quick' : 'full',
      source: await source(),
      hubChild: flag('hub-from-source') ? 'source' : 'compiled',
      ...(only.has('e2e') || only.has('profile') ? { hubIndexedSelectors: indexSelectors } : {}),
      machine: {
        cores: cores(),
        cpuModel: cpus()[0]?.model ?? 'unknown',
        memoryGb: Math.round(totalmem() / 2 ** 30),
        node: process.version,
        natsServer: nats.version,
        natsClient: clientVersion,
        otherLoad: `before: ${loadBefore}; after: ${loadAfter}`,
      },
      limits: { publish, verify },
      endToEnd: endToEndResults,
      policy,
      replay: replayResult ?? null,
      profile,
      cluster,
      interop,
      correlation,
    };
    const result: BenchResult = { ...partial, targets: checkTargets(partial) };
    const out = option('out') ?? join(root, 'bench', 'results', resultFileName(startedAt));
    await mkdir(join(out, '..'), { recursive: true });
    await writeFile(out, `${JSON.stringify(result, null, 2)}\n`);
    process.stdout.write(
      `${renderTable(result)}\n\nwritten ${out} (${result.durationSec.toFixed(0)} s)\n`,
    );
  } catch (err) {
    log(`bench failed; its files (hub logs, data dirs) stay in ${workDir}`);
    throw err;
  }
  if (flag('keep')) log(`kept ${workDir}`);
  else await rm(workDir, { recursive: true, force: true });
}

await main();
