import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HUB_API_PREFIX, Streams } from '@mosaic/protocol';
import { contextConnectOptions, readContextFile } from '@mosaic/identities';
import { startHub, type Hub } from '@mosaic/hub';
import { createLogger } from '@mosaic/log';
import { connectAgency } from '@mosaic/sdk';
import { readPrivateKeyFile, signReport } from '@mosaic/signing';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mosaic, routerIdle } from './helpers.ts';

const REPORTS = 3_000;

let dir: string;
let hub: Hub;
let operator: string;
let nc: NatsConnection;
let jsm: JetStreamManager;
let publishSeconds = 0;

function recruitment(issuedAt = new Date(Date.now() - 60_000)) {
  return {
    schemaVersion: '1.0',
    reportId: randomUUID(),
    issuer: 'nl-police',
    issuedAt: issuedAt.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    origin: 'NL',
    jurisdictions: ['NL'],
    category: 'recruitment',
    indicators: [{ type: 'phone', number: '+31612345678' }],
    narrative: 'Job offers abroad with debt bondage.',
    grading: { sourceReliability: 'B', informationCredibility: 2, confidence: 70 },
    handling: { tlp: 'GREEN' },
  };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mosaic-replay-'));
  hub = await startHub({
    dataDir: join(dir, 'data'),
    port: 0,
    log: createLogger({ service: 'hub', level: process.env['MOSAIC_LOG_LEVEL'] ?? 'silent' }),
  });
  operator = join(hub.contextsDir, 'operator.json');
  nc = await connect(contextConnectOptions(await readContextFile(operator)));
  jsm = await jetstreamManager(nc, { apiPrefix: HUB_API_PREFIX, checkAPI: false });
  await using agency = await connectAgency({
    context: join(hub.contextsDir, 'nl-police.json'),
    key: join(hub.keysDir, 'nl-police.jwk'),
  });
  const started = performance.now();
  for (let done = 0; done < REPORTS; done += 200) {
    const replies = await Promise.all(
      Array.from({ length: Math.min(200, REPORTS - done) }, () => agency.publish(recruitment())),
    );
    for (const reply of replies) expect(reply).toMatchObject({ ok: true });
  }
  await routerIdle(jsm);
  publishSeconds = (performance.now() - started) / 1000;
}, 120_000);
afterAll(async () => {
  await nc.close();
  await hub.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('mosaic replay over a few thousand reports', () => {
  it('--verify checks every signature; reports the rate; writes per report stay at 2', async () => {
    const res = await mosaic([
      'replay',
      '--context',
      operator,
      '--stream',
      'reports',
      '--verify',
      '--reason',
      'bench',
    ]);
    expect(res.code, res.stderr).toBe(0);
    const lines = res.stdout.trim().split('\n');
    expect(lines).toHaveLength(REPORTS);
    const seqs = lines.map((l) => (JSON.parse(l) as { seq: number; verified: boolean }).seq);
    expect(seqs).toEqual(Array.from({ length: REPORTS }, (_, i) => i + 1));
    expect(lines.every((l) => (JSON.parse(l) as { verified: boolean }).verified)).toBe(true);
    const summary =
      /replayed 3000 of 3000 messages \(REPORTS seq 1\.\.3000\), 3000 verified in [\d.]+ s \((\d+)\/s\)/.exec(
        res.stderr,
      );
    expect(summary, res.stderr).not.toBeNull();
    const audit = (await jsm.streams.info(Streams.Audit)).state.messages;
    process.stderr.write(
      `[measure] ${REPORTS} reports published+routed in ${publishSeconds.toFixed(1)} s (${Math.round(REPORTS / publishSeconds)}/s); ` +
        `AUDIT holds ${audit} entries (${((audit - 1) / REPORTS).toFixed(2)} per report + this replay); replay --verify ${summary?.[1]}/s\n`,
    );
    expect(audit).toBe(2 * REPORTS + 1);
  });

  it('sequence boundaries are exact and inclusive; time boundaries since inclusive, until exclusive', async () => {
    const range = await mosaic([
      'replay',
      '--context',
      operator,
      '--stream',
      'reports',
      '--from-seq',
      '1000',
      '--to-seq',
      '1999',
      '--reason',
      'range',
    ]);
    expect(range.code, range.stderr).toBe(0);
    const seqs = range.stdout
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { seq: number }).seq);
    expect(seqs[0]).toBe(1000);
    expect(seqs.at(-1)).toBe(1999);
    expect(seqs).toHaveLength(1000);

    const m1500 = await jsm.streams.getMessage(Streams.Reports, { seq: 1500 });
    const m2500 = await jsm.streams.getMessage(Streams.Reports, { seq: 2500 });
    const since = m1500?.time.toISOString() ?? '';
    const until = m2500?.time.toISOString() ?? '';
    const timed = await mosaic([
      'replay',
      '--context',
      operator,
      '--stream',
      'reports',
      '--since',
      since,
      '--until',
      until,
      '--reason',
      'time range',
    ]);
    expect(timed.code, timed.stderr).toBe(0);
    const ts = timed.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { seq: number; time: string });
    // Several messages may share a millisecond: the boundaries are by stored time.
    expect(ts[0]?.seq).toBeLessThanOrEqual(1500);
    expect(Date.parse(ts[0]?.time ?? '')).toBeGreaterThanOrEqual(Date.parse(since));
    expect(ts.at(-1)?.seq).toBeLessThan(2500);
    for (const t of ts) expect(Date.parse(t.time)).toBeLessThan(Date.parse(until));
    expect(
      ts.some((t) => t.seq === 1500) &&
        ts.some((t) => t.seq === 2499 || Date.parse(t.time) < Date.parse(until)),
    ).toBe(true);
  });

  it('a progress bar on a TTY (count of total, rate, ETA), none in a pipe', async () => {
    const argv = [
      'replay',
      '--context',
      operator,
      '--stream',
      'reports',
      '--verify',
      '--reason',
      'tty',
    ];
    const tty = await mosaic(argv, '', { tty: true });
    expect(tty.code).toBe(0);
    expect(tty.stderr).toMatch(/\r\[#{30}\] 100% 3000\/3000 \d+\/s ETA 0s/);
    const piped = await mosaic(argv);
    expect(piped.code).toBe(0);
    expect(piped.stderr).not.toMatch(/\r|ETA/);
    expect(piped.stderr).not.toContain('\u001b');
  });

  it('exits 1 naming the first sequence that fails verification', async () => {
    // A signature that does not verify, stored by hand with the break-glass identity.
    const key = await readPrivateKeyFile(join(hub.keysDir, 'nl-police.jwk'));
    const report = recruitment();
    const signed = await signReport(
      new TextEncoder().encode(JSON.stringify(report)),
      key.privateJwk,
    );
    const jws = `${signed.slice(0, -2)}${signed.endsWith('AA') ? 'BA' : 'AA'}`;
    await using admin = await connect(
      contextConnectOptions(await readContextFile(join(hub.dataDir, 'breakglass', 'admin.json'))),
    );
    const ack = await jetstream(admin).publish(
      `mosaic.reports.NL.recruitment.nl-police.${report.reportId}`,
      jws,
    );
    const res = await mosaic([
      'replay',
      '--context',
      operator,
      '--stream',
      'reports',
      '--from-seq',
      String(ack.seq - 5),
      '--verify',
      '--reason',
      'spot check',
    ]);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(new RegExp(`first is REPORTS seq ${ack.seq}: `));
  });
});
