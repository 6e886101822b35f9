/**
 * `mosaic subscribe` against a real nats-server with the hub's permissions. Alerts are
 * written into ALERTS as the router identity (the wire contract of alert-protocol.ts).
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import {
  AlertHeaders,
  AlertKind,
  PUBLIC_KEYS_BUCKET,
  Streams,
  alertMsgId,
  alertSubject,
  alertsConsumerConfig,
  syncPublicKeys,
} from '@mosaic/protocol';
import { contextFile } from '@mosaic/identities';
import { startBrokerHub, type BrokerHub } from '@mosaic/identities/test-support';
import { agencyKeys, policeFederation } from '@mosaic/federation/internal';
import { signReport, type AgencyKeyPair } from '@mosaic/signing';
import { jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { headers, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Readable, Writable } from 'node:stream';
import { run } from '../src/index.ts';
import { mosaic } from './helpers.ts';

const NL = 'nl-police';
const DE = 'de-bka';
const RO = 'ro-dicot';
const AGENCIES = [NL, DE, RO];
const bin = fileURLToPath(new URL('../bin/mosaic.js', import.meta.url));
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

let hub: BrokerHub;
let keys: Map<string, AgencyKeyPair>;
let dir: string;
let router: NatsConnection;
const ctx = (agency: string): string => join(dir, `${agency}.json`);

beforeAll(async () => {
  keys = await agencyKeys(AGENCIES);
  const federation = policeFederation({ [NL]: 'NL', [DE]: 'DE', [RO]: 'RO' }, keys);
  hub = await startBrokerHub(federation, { dirPrefix: 'mosaic-cli-subscribe-' });
  const { ids, jsm } = hub;
  router = await hub.connectAs(ids.services.router);
  for (const a of AGENCIES) await jsm.consumers.add(Streams.Alerts, alertsConsumerConfig(a));
  await syncPublicKeys(
    await new Kvm(await hub.connectAs(ids.admin)).create(PUBLIC_KEYS_BUCKET),
    federation,
  );
  dir = hub.dir;
  for (const a of AGENCIES) await hub.contextPath(ids.agencies.get(a)!);
});
afterAll(async () => {
  await hub[Symbol.asyncDispose]();
});

interface Written {
  seq: number;
  reportId: string;
  body: Record<string, unknown>;
}

async function writeAlert(recipient: string, issuer: string, tamper = false): Promise<Written> {
  const body = {
    schemaVersion: '1.0',
    reportId: randomUUID(),
    issuer,
    issuedAt: new Date(Date.now() - 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    origin: issuer === NL ? 'NL' : issuer === DE ? 'DE' : 'RO',
    jurisdictions: ['RO'],
    category: 'transport',
    indicators: [{ type: 'phone', number: '+40723456789' }],
    narrative: 'cli subscriber test',
    grading: { sourceReliability: 'B', informationCredibility: 2, confidence: 70 },
    handling: { tlp: 'GREEN' },
  };
  let jws = await signReport(body, keys.get(issuer)!.privateJwk);
  if (tamper) {
    const [h, , s] = jws.split('.');
    jws = `${h}.${Buffer.from(JSON.stringify({ ...body, narrative: 'forged' })).toString('base64url')}.${s}`;
  }
  const h = headers();
  h.set(AlertHeaders.Kind, AlertKind.Report);
  h.set(AlertHeaders.Recipient, recipient);
  h.set(AlertHeaders.Issuer, issuer);
  h.set(AlertHeaders.ReportId, body.reportId);
  h.set(AlertHeaders.ReportSeq, '3');
  h.set(AlertHeaders.Reason, JSON.stringify({ clause: 'P9-GREEN', via: 'federation' }));
  const ack = await jetstream(router).publish(
    alertSubject(recipient, AlertKind.Report, issuer, body.reportId),
    jws,
    { msgID: alertMsgId(issuer, body.reportId, recipient), headers: h },
  );
  return { seq: ack.seq, reportId: body.reportId, body };
}

const lines = (stdout: string): Record<string, unknown>[] =>
  stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('mosaic subscribe', () => {
  it('prints one verified NDJSON line per alert, in order, and resumes where it left off', async () => {
    await mosaic(['subscribe', '--context', ctx(RO)]);
    const a = await writeAlert(RO, NL);
    await writeAlert(NL, DE); // not ro-dicot's
    const b = await writeAlert(RO, DE);
    const first = await mosaic(['subscribe', '--context', ctx(RO)]);
    expect(first.code, first.stderr).toBe(0);
    const out = lines(first.stdout);
    expect(out.map((l) => l['seq'])).toEqual([a.seq, b.seq]);
    expect(out[0]).toEqual({
      id: `${NL}/${a.reportId}/${RO}`,
      kind: 'report',
      originator: NL,
      reportId: a.reportId,
      reason: { clause: 'P9-GREEN', via: 'federation' },
      seq: a.seq,
      reportSeq: 3,
      storedAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/) as unknown,
      report: a.body,
    });
    expect(first.stderr).toMatch(/subscribe: 2 alerts; stopped: none pending/);
    const again = await mosaic(['subscribe', '--context', ctx(RO)]);
    expect(again).toMatchObject({ code: 0, stdout: '' });
  });

  it('--max stops after n alerts', async () => {
    await mosaic(['subscribe', '--context', ctx(DE)]);
    const w = [await writeAlert(DE, NL), await writeAlert(DE, NL), await writeAlert(DE, RO)];
    const one = await mosaic(['subscribe', '--context', ctx(DE), '--max', '2']);
    expect(lines(one.stdout).map((l) => l['seq'])).toEqual([w[0]!.seq, w[1]!.seq]);
    const rest = await mosaic(['subscribe', '--context', ctx(DE)]);
    expect(lines(rest.stdout).map((l) => l['seq'])).toEqual([w[2]!.seq]);
  });

  it('exits 1 and names the code on stderr when an alert fails verification', async () => {
    await mosaic(['subscribe', '--context', ctx(NL)]);
    const good = await writeAlert(NL, DE);
    const bad = await writeAlert(NL, RO, true);
    const res = await mosaic(['subscribe', '--context', ctx(NL)]);
    expect(res.code).toBe(1);
    expect(lines(res.stdout).map((l) => l['seq'])).toEqual([good.seq]);
    expect(res.stderr).toContain(`refused seq ${bad.seq}: ERR_SIG_INVALID:`);
    expect(await mosaic(['subscribe', '--context', ctx(NL)])).toMatchObject({
      code: 0,
      stdout: '',
    });
  });

  it('--jwks verifies only with the pinned keys', async () => {
    await mosaic(['subscribe', '--context', ctx(NL)]);
    const jwks = join(dir, 'pinned.jwks');
    await writeFile(jwks, JSON.stringify({ keys: [keys.get(DE)!.publicJwk] }));
    const fromDe = await writeAlert(NL, DE);
    const fromRo = await writeAlert(NL, RO);
    const res = await mosaic(['subscribe', '--context', ctx(NL), '--jwks', jwks]);
    expect(res.code).toBe(1);
    expect(lines(res.stdout).map((l) => l['seq'])).toEqual([fromDe.seq]);
    expect(res.stderr).toContain(`refused seq ${fromRo.seq}: ERR_KEY_UNKNOWN:`);
  });

  it.each([
    [['--max', '0']],
    [['--since', 'yesterday']],
    [['--key-source', 'registry']],
    [['--key-source', 'hub', '--jwks', 'x.jwks']],
    [['extra']],
  ])('exits 2 on %j', async (extra) => {
    const res = await mosaic(['subscribe', '--context', ctx(NL), ...extra]);
    expect(res.code, res.stderr).toBe(2);
    expect(res.stderr).toMatch(/ERR_USAGE/);
  });

  it('exits 3 when the hub is unreachable', async () => {
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port: p } = probe.address() as { port: number };
        probe.close(() => {
          resolve(p);
        });
      });
    });
    const path = join(dir, 'down.json');
    await writeFile(path, contextFile(hub.ids.agencies.get(NL)!, `nats://127.0.0.1:${port}`), {
      mode: 0o600,
    });
    const res = await mosaic(['subscribe', '--context', path]);
    expect(res.code).toBe(3);
    expect(res.stderr).toMatch(/ERR_UNAVAILABLE/);
  });

  it('--follow prints alerts as they come; SIGINT stops it with exit 0 after acking', async () => {
    await mosaic(['subscribe', '--context', ctx(DE)]);
    const child = spawn(process.execPath, [bin, 'subscribe', '--context', ctx(DE), '--follow'], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const exited = new Promise<number | null>((resolve) =>
      child.once('exit', (code) => {
        resolve(code);
      }),
    );
    try {
      const w = await writeAlert(DE, NL);
      await expect.poll(() => lines(stdout).length, { timeout: 20_000, interval: 50 }).toBe(1);
      const w2 = await writeAlert(DE, RO);
      await expect.poll(() => lines(stdout).length, { timeout: 10_000, interval: 50 }).toBe(2);
      expect(lines(stdout).map((l) => l['seq'])).toEqual([w.seq, w2.seq]);
      child.kill('SIGINT');
      expect(await exited, stderr).toBe(0);
      expect(stderr).toMatch(/subscribe: 2 alerts; stopped: interrupted/);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    expect(await mosaic(['subscribe', '--context', ctx(DE)])).toMatchObject({ stdout: '' });
  });

  it('stops at a closed stdout: the alert whose line failed is not acked (in-process, exact)', async () => {
    await mosaic(['subscribe', '--context', ctx(NL)]);
    const w = [await writeAlert(NL, DE), await writeAlert(NL, RO), await writeAlert(NL, DE)];
    let writes = 0;
    const printed: string[] = [];
    // A reader that takes one line and then goes away, as "| head -1" does.
    const stdout = new Writable({
      write(chunk: Buffer, _enc, cb) {
        writes++;
        if (writes === 1) {
          printed.push(chunk.toString('utf8'));
          cb();
        } else cb(Object.assign(new Error('write EPIPE'), { code: 'EPIPE', syscall: 'write' }));
      },
    });
    const stderr: Buffer[] = [];
    const code = await run(['subscribe', '--context', ctx(NL)], {
      stdin: Readable.from([]),
      stdout,
      stderr: new Writable({
        write(chunk: Buffer, _enc, cb) {
          stderr.push(chunk);
          cb();
        },
      }),
    });
    expect(code).toBe(141);
    expect(Buffer.concat(stderr).toString('utf8')).toBe('');
    expect(lines(printed.join('')).map((l) => l['seq'])).toEqual([w[0]!.seq]);
    const info = await hub.jsm.consumers.info(Streams.Alerts, `alerts-${NL}`);
    expect(info.ack_floor.stream_seq).toBe(w[0]!.seq);
    const rest = await mosaic(['subscribe', '--context', ctx(NL)]);
    expect(lines(rest.stdout).map((l) => l['seq'])).toEqual([w[1]!.seq, w[2]!.seq]);
  });

  it('| head -1: a child whose stdout pipe closes after one line acks no unwritten alert and exits 141 quietly', async () => {
    await mosaic(['subscribe', '--context', ctx(RO)]);
    // More lines than a pipe buffers (64 KiB), so later writes meet the closed pipe.
    const written: Written[] = [];
    for (let i = 0; i < 300; i++) written.push(await writeAlert(RO, i % 2 === 0 ? NL : DE));
    const child = spawn(process.execPath, [bin, 'subscribe', '--context', ctx(RO)], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    let first = '';
    try {
      for await (const chunk of child.stdout) {
        first += (chunk as Buffer).toString('utf8');
        if (first.includes('\n')) break; // leaving the loop destroys our end of the pipe
      }
      const [code] = await exited;
      expect(code, stderr).toBe(141);
      expect(stderr).toBe('');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    expect(JSON.parse(first.split('\n')[0]!)).toMatchObject({ seq: written[0]!.seq });
    const info = await hub.jsm.consumers.info(Streams.Alerts, `alerts-${RO}`);
    const last = written.at(-1)!.seq;
    expect(info.ack_floor.stream_seq).toBeGreaterThanOrEqual(written[0]!.seq);
    expect(info.ack_floor.stream_seq).toBeLessThan(last);
    expect(info.num_pending + info.num_ack_pending).toBeGreaterThan(0);
    // Nothing lost: the next run prints exactly the alerts after the ack floor.
    const rest = await mosaic(['subscribe', '--context', ctx(RO)]);
    expect(lines(rest.stdout).map((l) => l['seq'])).toEqual(
      written.map((x) => x.seq).filter((seq) => seq > info.ack_floor.stream_seq),
    );
  });
});
