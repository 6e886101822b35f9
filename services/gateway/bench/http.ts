// HTTP versus NATS submission rate through one hub:
// `npx tsx services/gateway/bench/http.ts <result.json> [reports per transport, default 500] [concurrency, default 16]`.
// Runs `mosaic dev` as a child on a temp data dir, issues de-bka a gateway token, then sends
// the same number of freshly signed reports over NATS (request/reply on de-bka's context)
// and over HTTP (POST /v1/reports), each with the same concurrency, and prints both rates.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { contextConnectOptions, readContextFile } from '@mosaic/identities';
import { connectOperator, issueGatewayToken } from '@mosaic/operator';
import { ingestSubject, parseIngestReply } from '@mosaic/protocol';
import { readPrivateKeyFile, signReport } from '@mosaic/signing';
import { connect } from '@nats-io/transport-node';
import { devGatewayUrl } from '../../../bench/lib/dev-gateway.ts';

const [out, countArg, concurrencyArg] = process.argv.slice(2);
if (out === undefined) {
  process.stderr.write(
    'usage: tsx services/gateway/bench/http.ts <result.json> [n] [concurrency]\n',
  );
  process.exit(2);
}
const n = Number(countArg ?? 500);
const concurrency = Number(concurrencyArg ?? 16);
const root = join(import.meta.dirname, '..', '..', '..');
const dir = await mkdtemp(join(tmpdir(), 'mosaic-gateway-bench-'));
const child = spawn(
  process.execPath,
  [join(root, 'packages', 'cli', 'bin', 'mosaic.js'), 'dev', '--data-dir', dir, '--port', '0'],
  { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MOSAIC_LOG_LEVEL: 'info' } },
);
const gatewayUrl = await devGatewayUrl(child);
child.stdout.resume();

try {
  const contexts = join(dir, 'contexts');
  const op = await connectOperator(join(contexts, 'operator.json'));
  const { token } = await issueGatewayToken(op, { agency: 'de-bka', justification: 'bench' });
  await op.close();
  const key = await readPrivateKeyFile(join(dir, 'keys', 'de-bka.jwk'));
  const example = JSON.parse(
    await readFile(join(root, 'schemas', 'examples', 'valid', 'financial-flow.json'), 'utf8'),
  ) as Record<string, unknown>;
  const signed = async (): Promise<string> =>
    signReport(
      JSON.stringify({
        ...example,
        reportId: randomUUID(),
        issuer: 'de-bka',
        origin: 'DE',
        issuedAt: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
      }),
      key.privateJwk,
    );
  const nc = await connect(
    contextConnectOptions(await readContextFile(join(contexts, 'de-bka.json'))),
  );

  /** Sends `n` reports with `concurrency` in flight; resolves with reports per second. */
  const run = async (send: (jws: string) => Promise<boolean>): Promise<number> => {
    const reports = await Promise.all(Array.from({ length: n }, signed));
    let next = 0;
    let failed = 0;
    const start = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < reports.length) {
          const jws = reports[next++] ?? '';
          if (!(await send(jws))) failed++;
        }
      }),
    );
    const ms = performance.now() - start;
    if (failed > 0) throw new Error(`${String(failed)} submissions were not accepted`);
    return Math.round((n * 1000) / ms);
  };
  const natsPerSec = await run(async (jws) => {
    const reply = parseIngestReply(
      (await nc.request(ingestSubject('de-bka'), jws, { timeout: 30_000 })).data,
    );
    return reply?.ok === true;
  });
  const httpPerSec = await run(async (jws) => {
    const res = await fetch(`${gatewayUrl}/v1/reports`, {
      method: 'POST',
      headers: { 'content-type': 'application/jose', authorization: `Bearer ${token}` },
      body: jws,
    });
    return res.status === 200 && ((await res.json()) as { ok?: boolean }).ok === true;
  });
  await nc.close();
  const result = {
    reports: n,
    concurrency,
    natsPerSec,
    httpPerSec,
    httpToNats: httpPerSec / natsPerSec,
  };
  process.stdout.write(
    `publish reports/s  NATS ${String(natsPerSec)}  HTTP ${String(httpPerSec)}  (${String(n)} each, ${String(concurrency)} in flight)\n`,
  );
  await writeFile(out, `${JSON.stringify(result, null, 2)}\n`);
} finally {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
  await rm(dir, { recursive: true, force: true });
}
