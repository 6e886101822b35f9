/**
 * The interop stage: STIX export objects/s (offline), and against one `mosaic dev` child in
 * the same run: reports/s published over NATS and over HTTP (`POST /v1/reports`) with the
 * same concurrency, then the STIX objects/s a TAXII client pages through over real HTTP.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HUB_NODE_FLAGS } from '@mosaic/hub';
import { validateReport, type Report } from '@mosaic/contract';
import { contextConnectOptions, readContextFile } from '@mosaic/identities';
import { connectOperator, issueGatewayToken } from '@mosaic/operator';
import { ingestSubject, parseIngestReply } from '@mosaic/protocol';
import { readPrivateKeyFile, signReport } from '@mosaic/signing';
import { reportsToBundle } from '@mosaic/stix';
import { connect } from '@nats-io/transport-node';
import { devGatewayUrl } from './dev-gateway.ts';
import type { InteropResult } from './stats.ts';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const examplesDir = join(repoRoot, 'schemas', 'examples', 'valid');
const TAXII = 'application/taxii+json;version=2.1';

/** The valid examples without lineage (each stands alone), as templates. */
async function templates(): Promise<Report[]> {
  const out: Report[] = [];
  for (const file of (await readdir(examplesDir)).filter((f) => f.endsWith('.json')).sort()) {
    const report = validateReport(JSON.parse(await readFile(join(examplesDir, file), 'utf8')));
    if (report.indicators.length === 0) continue;
    delete report.lineage;
    out.push(report);
  }
  return out;
}

/** `reportsToBundle` over `count` reports in bundles of 50: objects per second. */
async function stixExport(count: number): Promise<InteropResult['stixExport']> {
  const base = await templates();
  const reports = Array.from({ length: count }, (_, i) => ({
    report: { ...base[i % base.length]!, reportId: randomUUID() },
  }));
  reportsToBundle(reports.slice(0, 50)); // warm-up
  let objects = 0;
  const started = performance.now();
  for (let i = 0; i < reports.length; i += 50)
    objects += reportsToBundle(reports.slice(i, i + 50)).objects.length;
  const seconds = (performance.now() - started) / 1000;
  return { reports: count, objects, objectsPerSec: Math.round(objects / seconds) };
}

/** Sends every JWS with `concurrency` in flight; reports per second, all accepted or a throw. */
async function sendAll(
  reports: string[],
  concurrency: number,
  send: (jws: string) => Promise<boolean>,
): Promise<number> {
  let next = 0;
  let failed = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < reports.length) {
        const jws = reports[next++] ?? '';
        if (!(await send(jws))) failed++;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  if (failed > 0) throw new Error(`${String(failed)} submissions were not accepted`);
  return Math.round(reports.length / seconds);
}

export interface InteropOptions {
  workDir: string;
  /** Reports per transport (NATS, then HTTP). */
  reports: number;
  concurrency: number;
  /** TAXII `limit`s (objects per page) to page the collection with, one full pass each. */
  pageLimits: number[];
  stixReports: number;
  log: (line: string) => void;
}

export async function interopBench(options: InteropOptions): Promise<InteropResult> {
  const { reports: n, concurrency, log } = options;
  const stix = await stixExport(options.stixReports);
  log(`  interop: STIX export ${String(stix.objectsPerSec)} objects/s`);

  const dir = await mkdtemp(join(options.workDir, 'interop-'));
  const child = spawn(
    process.execPath,
    [
      ...HUB_NODE_FLAGS,
      join(repoRoot, 'packages', 'cli', 'bin', 'mosaic.js'),
      'dev',
      '--data-dir',
      dir,
      '--port',
      '0',
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, MOSAIC_LOG_LEVEL: 'info' },
    },
  );
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    const gatewayUrl = await devGatewayUrl(child);
    child.stdout.resume();
    const contexts = join(dir, 'contexts');
    const op = await connectOperator(join(contexts, 'operator.json'));
    const tokens = new Map<string, string>();
    for (const agency of ['de-bka', 'nl-police', 'ro-dicot', 'ngo-lastrada'])
      tokens.set(agency, (await issueGatewayToken(op, { agency, justification: 'bench' })).token);
    await op.close();

    const key = await readPrivateKeyFile(join(dir, 'keys', 'de-bka.jwk'));
    const example = JSON.parse(
      await readFile(join(examplesDir, 'financial-flow.json'), 'utf8'),
    ) as Record<string, unknown>;
    const signed = (): Promise<string[]> =>
      Promise.all(
        Array.from({ length: n }, () =>
          signReport(
            JSON.stringify({
              ...example,
              reportId: randomUUID(),
              issuer: 'de-bka',
              origin: 'DE',
              issuedAt: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
            }),
            key.privateJwk,
          ),
        ),
      );
    const nc = await connect(
      contextConnectOptions(await readContextFile(join(contexts, 'de-bka.json'))),
    );
    const natsPerSec = await sendAll(await signed(), concurrency, async (jws) => {
      const reply = parseIngestReply(
        (await nc.request(ingestSubject('de-bka'), jws, { timeout: 30_000 })).data,
      );
      return reply?.ok === true;
    });
    await nc.close();
    const bearer = `Bearer ${tokens.get('de-bka') ?? ''}`;
    const httpPerSec = await sendAll(await signed(), concurrency, async (jws) => {
      const res = await fetch(`${gatewayUrl}/v1/reports`, {
        method: 'POST',
        headers: { 'content-type': 'application/jose', authorization: bearer },
        body: jws,
      });
      return res.status === 200 && ((await res.json()) as { ok?: boolean }).ok === true;
    });
    log(`  interop: publish NATS ${String(natsPerSec)}/s, HTTP ${String(httpPerSec)}/s`);

    // The collection with the most alerts, once the router has settled (no change for 2 s).
    const countAlerts = async (agency: string): Promise<number> => {
      let count = 0;
      let cursor: string | undefined;
      for (;;) {
        const res = await fetch(
          `${gatewayUrl}/v1/alerts?limit=1000${cursor === undefined ? '' : `&cursor=${cursor}`}`,
          { headers: { authorization: `Bearer ${tokens.get(agency) ?? ''}` } },
        );
        const page = (await res.json()) as { alerts: unknown[]; next: string };
        count += page.alerts.length;
        if (page.alerts.length < 1000) return count;
        cursor = page.next;
      }
    };
    const recipients = ['nl-police', 'ro-dicot', 'ngo-lastrada'];
    let counts: number[] = [];
    for (const deadline = Date.now() + 300_000; ;) {
      const now = await Promise.all(recipients.map(countAlerts));
      if (now.join() === counts.join() && now.some((c) => c > 0)) break;
      if (Date.now() > deadline) throw new Error('the router did not settle within 300 s');
      counts = now;
      await new Promise((resolve) => setTimeout(resolve, 2_000));
    }
    const best = counts.indexOf(Math.max(...counts));
    const agency = recipients[best] ?? 'nl-police';
    const auth = `Bearer ${tokens.get(agency) ?? ''}`;
    const discovery = await fetch(`${gatewayUrl}/taxii2/mosaic/collections/`, {
      headers: { accept: TAXII, authorization: auth },
    });
    const { collections } = (await discovery.json()) as { collections: { id: string }[] };
    const collection = collections[0]?.id ?? '';
    const page = async (limit: number): Promise<InteropResult['taxii'][number]> => {
      let objects = 0;
      let pages = 0;
      let next: string | undefined;
      const started = performance.now();
      for (;;) {
        const res = await fetch(
          `${gatewayUrl}/taxii2/mosaic/collections/${collection}/objects/?limit=${String(limit)}${next === undefined ? '' : `&next=${next}`}`,
          { headers: { accept: TAXII, authorization: auth } },
        );
        if (res.status !== 200) throw new Error(`TAXII answered ${String(res.status)}`);
        const envelope = (await res.json()) as {
          more: boolean;
          next?: string;
          objects: unknown[];
        };
        objects += envelope.objects.length;
        pages++;
        next = envelope.next;
        if (!envelope.more) break;
      }
      const seconds = (performance.now() - started) / 1000;
      const result = {
        agency,
        alerts: counts[best] ?? 0,
        objects,
        pages,
        pageLimit: limit,
        objectsPerSec: Math.round(objects / seconds),
      };
      log(
        `  interop: TAXII limit ${String(limit)}: ${String(result.objectsPerSec)} objects/s (${String(objects)} objects of ${String(result.alerts)} alerts, ${String(pages)} pages)`,
      );
      return result;
    };
    const taxii = [];
    for (const limit of options.pageLimits) taxii.push(await page(limit));
    return {
      stixExport: stix,
      publish: { reports: n, concurrency, natsPerSec, httpPerSec },
      taxii,
    };
  } finally {
    child.kill('SIGTERM');
    await exited;
    await rm(dir, { recursive: true, force: true });
  }
}
