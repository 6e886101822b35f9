import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeEntry, type AuditEntry } from '@mosaic/audit-log';
import { readStream, HUB_API_PREFIX, Streams } from '@mosaic/protocol';
import { contextConnectOptions, readContextFile } from '@mosaic/identities';
import { startHub, type Hub } from '@mosaic/hub';
import { createLogger } from '@mosaic/log';
import { connectAgency } from '@mosaic/sdk';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mosaic, recruitment, routerIdle } from './helpers.ts';

const NGO = 'ngo-lastrada';
const REPORTS = 30;

let dir: string;
let hub: Hub;
let operator: string;
let nc: NatsConnection;
let jsm: JetStreamManager;

async function auditEntries(): Promise<AuditEntry[]> {
  const out: AuditEntry[] = [];
  for await (const m of readStream(jsm, Streams.Audit)) out.push(decodeEntry(m.data));
  return out;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mosaic-audit-'));
  hub = await startHub({
    dataDir: join(dir, 'data'),
    port: 0,
    checkpointEvery: { entries: 20, seconds: 1 },
    log: createLogger({ service: 'hub', level: process.env['MOSAIC_LOG_LEVEL'] ?? 'silent' }),
  });
  operator = join(hub.contextsDir, 'operator.json');
  nc = await connect(contextConnectOptions(await readContextFile(operator)));
  jsm = await jetstreamManager(nc, { apiPrefix: HUB_API_PREFIX, checkAPI: false });
  await using agency = await connectAgency({
    context: join(hub.contextsDir, 'nl-police.json'),
    key: join(hub.keysDir, 'nl-police.jwk'),
  });
  for (let i = 0; i < REPORTS; i++) {
    const reply = await agency.publish(recruitment());
    expect(reply, JSON.stringify(reply)).toMatchObject({ ok: true });
  }
  await routerIdle(jsm, 15_000);
});
afterAll(async () => {
  await nc.close();
  await hub.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('audit entries of a running hub', () => {
  it('collection and disclosure: one entry each per report (2 writes per report), with refs, hashes and reasons', async () => {
    const entries = await auditEntries();
    const accepted = entries.filter((e) => e.action === 'report.accepted');
    const disclosed = entries.filter((e) => e.action === 'alert.disclosed');
    expect(accepted).toHaveLength(REPORTS);
    expect(disclosed).toHaveLength(REPORTS);
    const reportSeqs = accepted.flatMap((e) => e.refs ?? []).filter((r) => r.stream === 'REPORTS');
    expect(reportSeqs.map((r) => r.seq).sort((a, b) => a - b)).toEqual(
      Array.from({ length: REPORTS }, (_, i) => i + 1),
    );
    expect(accepted[0]).toMatchObject({
      actor: { kind: 'agency', id: 'nl-police' },
      subject: { issuer: 'nl-police' },
    });
    expect(accepted[0]?.subject?.contentHash).toMatch(/^[0-9a-f]{64}$/);
    const alerts = (await jsm.streams.info(Streams.Alerts)).state.messages;
    const listed = disclosed.reduce((n, e) => n + (e.recipients?.length ?? 0), 0);
    expect(listed).toBe(alerts);
    expect(
      disclosed.every((e) => e.recipients?.some((r) => r.agency === NGO && r.reason !== undefined)),
    ).toBe(true);
    process.stderr.write(
      `[measure] audit writes per accepted+routed report: ${((accepted.length + disclosed.length) / REPORTS).toFixed(2)} (${alerts} alerts in ${disclosed.length} disclosure entries)\n`,
    );
  });

  it('a rejection is an entry with its REJECTIONS seq and code', async () => {
    const agencyNc = await connect(
      contextConnectOptions(await readContextFile(join(hub.contextsDir, 'nl-police.json'))),
    );
    const reply = (
      await agencyNc.request('mosaic.ingest.nl-police', 'not a jws', { timeout: 5_000 })
    ).json<{
      ok: boolean;
      code: string;
    }>();
    await agencyNc.close();
    expect(reply.ok).toBe(false);
    const rejected = (await auditEntries()).filter((e) => e.action === 'report.rejected');
    expect(rejected).toHaveLength(1);
    expect(rejected[0]).toMatchObject({
      actor: { kind: 'agency', id: 'nl-police' },
      refs: [{ stream: 'REJECTIONS', seq: 1 }],
      details: { code: reply.code },
    });
  });

  it('consultation: the alerts an agency acknowledges are named in its alert.consulted entries', async () => {
    await using ngo = await connectAgency({
      context: join(hub.contextsDir, `${NGO}.json`),
      key: join(hub.keysDir, `${NGO}.jwk`),
    });
    // The router creates every alerts consumer with every ack sampled.
    const consumer = await jsm.consumers.info(Streams.Alerts, `alerts-${NGO}`);
    expect(consumer.config.sample_freq).toBe('100%');
    const summary = await ngo.subscribe(() => undefined, { max: 2 });
    expect(summary.delivered).toBe(2);
    // The auditor collects an agency's acks for a short window into one entry.
    const consultedBy = async (agency: string): Promise<AuditEntry[]> =>
      (await auditEntries()).filter((e) => e.action === 'alert.consulted' && e.actor.id === agency);
    await expect
      .poll(async () => (await consultedBy(NGO)).flatMap((e) => e.refs ?? []).length, {
        timeout: 10_000,
        interval: 100,
      })
      .toBe(2);
    const consulted = await consultedBy(NGO);
    const refs = consulted.flatMap((e) => e.refs ?? []);
    expect(refs.every((r) => r.stream === 'ALERTS')).toBe(true);
    expect(new Set(refs.map((r) => r.seq)).size).toBe(2);
    // Those are the two alerts of the NGO's consumer it acknowledged: its ack floor.
    const acked = await jsm.consumers.info(Streams.Alerts, `alerts-${NGO}`);
    expect(Math.max(...refs.map((r) => r.seq))).toBe(acked.ack_floor.stream_seq);
    for (const ref of refs) {
      const alert = await jsm.streams.getMessage(Streams.Alerts, { seq: ref.seq });
      expect(alert?.subject.split('.')[2]).toBe(NGO);
    }
    for (const e of consulted) {
      expect(e.recipients).toEqual([{ agency: NGO }]);
      expect(e.details?.['deliveries']).toEqual(e.refs?.map(() => 1));
    }
  });

  it('a retraction is one report.retracted entry naming the earlier recipients', async () => {
    const first = (await auditEntries()).find((e) => e.action === 'alert.disclosed');
    const reportId = first?.subject?.reportId ?? '';
    await using agency = await connectAgency({
      context: join(hub.contextsDir, 'nl-police.json'),
      key: join(hub.keysDir, 'nl-police.jwk'),
    });
    const retraction = recruitment({ retracts: reportId });
    expect(await agency.publish(retraction)).toMatchObject({ ok: true });
    await routerIdle(jsm, 15_000);
    const retracted = (await auditEntries()).filter((e) => e.action === 'report.retracted');
    expect(retracted).toHaveLength(1);
    expect(retracted[0]).toMatchObject({
      actor: { kind: 'service', id: 'router' },
      subject: { reportId: retraction.reportId, issuer: 'nl-police' },
      details: { refers: [reportId] },
    });
    expect(retracted[0]?.recipients?.map((r) => r.agency)).toEqual(
      first?.recipients?.map((r) => r.agency),
    );
  });

  it('a registry change needs --reason and is recorded with it', async () => {
    const rules = join(dir, 'rules.json');
    await writeFile(rules, JSON.stringify(hub.registry.agency(NGO)?.subscriptions ?? []));
    const missing = await mosaic([
      'rules',
      'set',
      '--context',
      operator,
      '--agency',
      NGO,
      '--file',
      rules,
    ]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/ERR_USAGE: .*--reason is required/);
    const set = await mosaic([
      'rules',
      'set',
      '--context',
      operator,
      '--agency',
      NGO,
      '--file',
      rules,
      '--reason',
      'NGO asked to confirm its rules (ticket 77)',
    ]);
    expect(set.code, set.stderr).toBe(0);
    const revision = (JSON.parse(set.stdout) as { revision: number }).revision;
    const change = (await auditEntries()).filter((e) => e.action === 'registry.changed').at(-1);
    expect(change).toMatchObject({
      actor: { kind: 'operator' },
      justification: 'NGO asked to confirm its rules (ticket 77)',
      refs: [{ stream: 'KV_mosaic-registry', seq: revision }],
      details: { agency: NGO, change: 'rules.set' },
    });
  });
});

describe('mosaic replay', () => {
  it('without --reason is a usage error, and nothing is recorded', async () => {
    const before = (await auditEntries()).length;
    const res = await mosaic(['replay', '--context', operator, '--stream', 'reports']);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/ERR_USAGE/);
    expect((await auditEntries()).length).toBe(before);
  });

  it('replays an exact sequence range in order, verifies, records the replay; progress on a TTY only', async () => {
    const argv = [
      'replay',
      '--context',
      operator,
      '--stream',
      'reports',
      '--from-seq',
      '5',
      '--to-seq',
      '12',
      '--verify',
      '--reason',
      'case 2026/118',
    ];
    const piped = await mosaic(argv, '', { tty: false });
    expect(piped.code, piped.stderr).toBe(0);
    const lines = piped.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { seq: number; verified: boolean });
    expect(lines.map((l) => l.seq)).toEqual([5, 6, 7, 8, 9, 10, 11, 12]);
    expect(lines.every((l) => l.verified)).toBe(true);
    expect(piped.stderr).not.toMatch(/\r|ETA/);
    const tty = await mosaic(argv, '', { tty: true });
    expect(tty.code, tty.stderr).toBe(0);
    expect(tty.stderr).toMatch(/\r\[[#.]{30}\] \d+% \d+\/8 \d+\/s ETA/);
    const replays = (await auditEntries()).filter((e) => e.action === 'operator.replay');
    expect(replays.at(-1)).toMatchObject({
      justification: 'case 2026/118',
      details: { stream: 'REPORTS', fromSeq: 5, toSeq: 12, verify: true },
    });
  });

  it('csv and filters', async () => {
    const res = await mosaic([
      'replay',
      '--context',
      operator,
      '--stream',
      'alerts',
      '--agency',
      NGO,
      '--format',
      'csv',
      '--reason',
      'csv check',
    ]);
    expect(res.code, res.stderr).toBe(0);
    const rows = res.stdout.trim().split('\n');
    expect(rows[0]).toBe('seq,time,subject,size,sha256,verified');
    expect(rows.length - 1).toBe(REPORTS + 1); // and the retraction
    for (const row of rows.slice(1)) expect(row).toContain(`mosaic.alerts.${NGO}.`);
  });
});

describe('mosaic audit verify | prove | check-proof', () => {
  it('verifies the live log with its coverage, and an export offline', async () => {
    const live = await mosaic(['audit', 'verify', '--context', operator]);
    expect(live.code, live.stderr).toBe(0);
    expect(JSON.parse(live.stdout)).toMatchObject({ ok: true, reports: REPORTS + 1 });
    const fromLast = await mosaic([
      'audit',
      'verify',
      '--context',
      operator,
      '--from-checkpoint',
      '1',
    ]);
    expect(fromLast.code, fromLast.stderr).toBe(0);
    const file = join(dir, 'audit.export');
    const exported = await mosaic([
      'replay',
      '--context',
      operator,
      '--stream',
      'audit',
      '--out',
      file,
      '--reason',
      'quarterly audit',
    ]);
    expect(exported.code, exported.stderr).toBe(0);
    const offline = await mosaic(['audit', 'verify', '--export', file, '--jwks', hub.hubJwksFile]);
    expect(offline.code, offline.stderr).toBe(0);
    expect((await stat(join(hub.dataDir, 'hub.jwk'))).mode & 0o777).toBe(0o600);
    expect(await readFile(join(hub.dataDir, 'audit', 'checkpoint'), 'utf8')).toMatch(
      /^mosaic-hub\n\d+\n/,
    );
    expect((await auditEntries()).filter((e) => e.action === 'operator.export')).toHaveLength(1);
  });

  it('prove + check-proof round trip; a tampered proof is refused', async () => {
    // Ingest's and the router's entries interleave: prove the first report.accepted one.
    const index = (await auditEntries()).findIndex((e) => e.action === 'report.accepted');
    expect(index).toBeGreaterThanOrEqual(0);
    const entry = String(index + 1);
    await expect
      .poll(async () => (await mosaic(['audit', 'prove', '--context', operator, entry])).code, {
        timeout: 5_000,
      })
      .toBe(0);
    const proofFile = join(dir, 'proof.json');
    const prove = await mosaic([
      'audit',
      'prove',
      '--context',
      operator,
      entry,
      '--out',
      proofFile,
    ]);
    expect(prove.code, prove.stderr).toBe(0);
    const ok = await mosaic(['audit', 'check-proof', '--jwks', hub.hubJwksFile, proofFile]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ ok: true, index, action: 'report.accepted' });
    const proof = JSON.parse(await readFile(proofFile, 'utf8')) as {
      index: number;
      proof: string[];
    };
    const tampered = join(dir, 'tampered.json');
    await writeFile(tampered, JSON.stringify({ ...proof, index: proof.index + 1 }));
    const bad = await mosaic(['audit', 'check-proof', '--jwks', hub.hubJwksFile, tampered]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/ERR_PROOF_INVALID/);
    const flipped = proof.proof.map((h, i) =>
      i === 0 ? `${h[0] === '0' ? '1' : '0'}${h.slice(1)}` : h,
    );
    await writeFile(tampered, JSON.stringify({ ...proof, proof: flipped }));
    expect((await mosaic(['audit', 'check-proof', '--jwks', hub.hubJwksFile, tampered])).code).toBe(
      1,
    );
  });
});

describe('output paths and entry numbers', () => {
  const missing = (): string => join(dir, 'no-such-dir', 'out.file');
  const operatorEntries = async (): Promise<number> =>
    (await auditEntries()).filter((e) => e.action.startsWith('operator.')).length;

  it.each([[['--stream', 'reports']], [['--stream', 'audit']]])(
    'replay %j --out into a missing directory: ERR_IO naming the path, exit 3, nothing recorded',
    async (stream) => {
      const before = await operatorEntries();
      const out = missing();
      const res = await mosaic([
        'replay',
        '--context',
        operator,
        ...stream,
        '--out',
        out,
        '--reason',
        'export that cannot happen',
      ]);
      expect(res.code, res.stderr).toBe(3);
      expect(res.stderr).toMatch(/^error ERR_IO: /);
      expect(res.stderr).toContain(out);
      expect(await operatorEntries()).toBe(before);
    },
  );

  it('audit prove --out into a missing directory: ERR_IO naming the path, exit 3', async () => {
    const out = missing();
    const res = await mosaic(['audit', 'prove', '--context', operator, '1', '--out', out]);
    expect(res.code, res.stderr).toBe(3);
    expect(res.stderr).toMatch(/^error ERR_IO: /);
    expect(res.stderr).toContain(out);
  });

  it('audit prove beyond the log is a usage error giving the log size', async () => {
    const size = (await jsm.streams.info(Streams.Audit)).state.last_seq;
    const res = await mosaic(['audit', 'prove', '--context', operator, String(size + 1000)]);
    expect(res.code, res.stderr).toBe(2);
    expect(res.stderr).toMatch(/^error ERR_USAGE: /);
    expect(res.stderr).not.toContain('ERR_AUDIT_INVALID');
    expect(res.stderr).toMatch(/the audit log holds \d+ entries/);
    const said = Number(/holds (\d+) entries/.exec(res.stderr)?.[1]);
    expect(said).toBeGreaterThanOrEqual(size);
  });
});
