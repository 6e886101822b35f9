import { createPrivateKey, randomUUID, sign } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable, Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { HUB_API_PREFIX, Streams } from '@mosaic/protocol';
import { contextConnectOptions, readContextFile } from '@mosaic/identities';
import { startHub, type Hub } from '@mosaic/hub';
import { createLogger } from '@mosaic/log';
import { connectAgency } from '@mosaic/sdk';
import { REPORT_MEDIA_TYPE, readPrivateKeyFile, signReport } from '@mosaic/signing';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../src/index.ts';
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

  it('--workers 0, 1 and 3 write the same lines and name the same failures, in stream order', async () => {
    // Stored by hand with the break-glass identity, between valid reports: each refused at its own check.
    const key = await readPrivateKeyFile(join(hub.keysDir, 'nl-police.jwk'));
    const privateKey = createPrivateKey({ key: key.privateJwk as never, format: 'jwk' });
    const b64 = (b: Uint8Array | string): string => Buffer.from(b).toString('base64url');
    // Signed without signReport's schema check, so a report the schema refuses can be signed.
    const signed = (report: object, kid = key.kid): string => {
      const input = `${b64(JSON.stringify({ alg: 'EdDSA', kid, typ: REPORT_MEDIA_TYPE }))}.${b64(JSON.stringify(report))}`;
      return `${input}.${b64(sign(null, Buffer.from(input), privateKey))}`;
    };
    const good = (): string => signed(recruitment());
    const flipped = good().replace(/.$/, (c) => (c === 'A' ? 'Q' : 'A'));
    const [h, p, sig] = good().split('.') as [string, string, string];
    // A payload that is not the one canonical base64url spelling of its bytes: a lone
    // trailing character, or padding bits set in the last one.
    const digits = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const last = digits.indexOf(p.slice(-1));
    const spoiled = p.length % 4 === 0 ? `${p}A` : `${p.slice(0, -1)}${digits[last | 1] ?? ''}`;
    const cases: { jws: string; says: string }[] = [
      { jws: flipped, says: 'ERR_SIG_INVALID: signature does not verify' },
      { jws: signed(recruitment(), 'xx-unknown/k1'), says: 'ERR_KEY_UNKNOWN: no key' },
      { jws: signed({ ...recruitment(), narrative: 42 }), says: 'ERR_SCHEMA: report does not' },
      { jws: signed({ ...recruitment(), issuer: 'de-bka' }), says: 'ERR_ISSUER_MISMATCH: report' },
      { jws: 'not a jws', says: 'ERR_JWS_MALFORMED: JWS holds characters' },
      { jws: `${h}.${spoiled}.${sig}`, says: 'ERR_JWS_MALFORMED: JWS payload is not canonical' },
    ];
    await using admin = await connect(
      contextConnectOptions(await readContextFile(join(hub.dataDir, 'breakglass', 'admin.json'))),
    );
    const js = jetstream(admin);
    const subject = (): string => `mosaic.reports.NL.recruitment.nl-police.${randomUUID()}`;
    const bad = new Map<number, string>();
    let first = 0;
    for (const c of cases) {
      // Valid reports around each bad one, across more than one worker batch.
      for (let i = 0; i < 150; i++) {
        const ack = await js.publish(subject(), good());
        if (first === 0) first = ack.seq;
      }
      bad.set((await js.publish(subject(), c.jws)).seq, c.says);
    }
    const run = (workers: string) =>
      mosaic([
        'replay',
        '--context',
        operator,
        '--stream',
        'reports',
        '--from-seq',
        String(first),
        '--verify',
        '--workers',
        workers,
        '--reason',
        `workers ${workers}`,
      ]);
    const [zero, one, three] = [await run('0'), await run('1'), await run('3')];
    const withoutRate = (stderr: string): string => stderr.replace(/ in [\d.]+ s \(\d+\/s\)/, '');
    for (const res of [zero, one, three]) {
      expect(res.code, res.stderr).toBe(1);
      const lines = res.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { seq: number; verified: boolean });
      expect(lines).toHaveLength(cases.length * 151);
      expect(lines.map((l) => l.seq)).toEqual(lines.map((_, i) => first + i));
      for (const l of lines) expect(l.verified).toBe(!bad.has(l.seq));
      const named = res.stderr.split('\n').filter((l) => l.startsWith('seq '));
      expect(named).toHaveLength(cases.length);
      [...bad].forEach(([seq, says], i) => {
        expect(named[i]).toMatch(`seq ${seq}: ${says}`);
      });
      const [firstBad, firstSays] = [...bad][0] ?? [];
      expect(res.stderr).toContain(
        `error ${firstSays?.split(':')[0]}: ${cases.length} message(s) failed verification; the first is REPORTS seq ${firstBad}: `,
      );
    }
    expect(one.stdout).toBe(zero.stdout);
    expect(three.stdout).toBe(zero.stdout);
    expect(withoutRate(one.stderr)).toBe(withoutRate(zero.stderr));
    expect(withoutRate(three.stderr)).toBe(withoutRate(zero.stderr));
  });

  it('a reader that lags holds the replay back: never more than one write past its buffer', async () => {
    /**
     * Standard output whose reader takes nothing for half a second from the first line,
     * then all: what the replay wrote meanwhile waits in the stream's buffer, sampled as it
     * grows.
     */
    const HIGH_WATER = 16 * 1024;
    const lagging = async (args: string[]) => {
      const chunks: Buffer[] = [];
      let release: () => void = () => undefined;
      const opened = new Promise<void>((resolve) => (release = resolve));
      let held: NodeJS.Timeout | undefined;
      const stdout = new Writable({
        highWaterMark: HIGH_WATER,
        write(chunk: Buffer, _enc, done) {
          chunks.push(chunk);
          held ??= setTimeout(release, 500);
          void opened.then(() => {
            done();
          });
        },
      });
      let queued = 0;
      const sample = setInterval(() => {
        queued = Math.max(queued, stdout.writableLength);
      }, 5);
      const stderr = new PassThrough();
      stderr.resume();
      try {
        const code = await run(args, { stdin: Readable.from([]), stdout, stderr });
        stdout.end();
        await finished(stdout);
        return { code, chunks, queued };
      } finally {
        clearInterval(sample);
        clearTimeout(held);
      }
    };
    const args = ['replay', '--context', operator, '--stream', 'reports', '--to-seq', '3000'];
    for (const extra of [[], ['--verify', '--workers', '1']]) {
      const { code, chunks, queued } = await lagging([...args, ...extra, '--reason', 'lag']);
      expect(code).toBe(0);
      const lines = Buffer.concat(chunks).toString('utf8').trim().split('\n');
      expect(lines.map((l) => (JSON.parse(l) as { seq: number }).seq)).toEqual(
        Array.from({ length: REPORTS }, (_, i) => i + 1),
      );
      // Unpaced, the whole output (~4 MB) queues while the reader lags.
      const largest = Math.max(...chunks.map((c) => c.byteLength));
      expect(queued, `largest write ${String(largest)} B`).toBeLessThanOrEqual(
        HIGH_WATER + largest,
      );
      expect(queued).toBeGreaterThan(0);
    }
  });

  it('a reader that goes away, while the replay waits for it or before, ends the replay: exit 141', async () => {
    const epipe = Object.assign(new Error('write EPIPE'), { code: 'EPIPE' });
    const cases = [
      // Takes nothing, and is torn down 200 ms after the first line (with or without an error).
      { gone: undefined, afterMs: 200 },
      { gone: epipe, afterMs: 200 },
      // Torn down at its first line, without an error, its buffer far from full: later
      // writes only return false.
      { gone: undefined, afterMs: 0, highWaterMark: 64 * 1024 * 1024 },
    ];
    for (const { gone, afterMs, highWaterMark = 16 * 1024 } of cases) {
      let torn: NodeJS.Timeout | undefined;
      const stdout = new Writable({
        highWaterMark,
        write() {
          if (afterMs === 0) stdout.destroy(gone);
          else torn ??= setTimeout(() => stdout.destroy(gone), afterMs);
        },
      });
      const stderr = new PassThrough();
      const said: Buffer[] = [];
      stderr.on('data', (c: Buffer) => said.push(c));
      const code = await run(
        ['replay', '--context', operator, '--stream', 'reports', '--reason', 'gone'],
        { stdin: Readable.from([]), stdout, stderr },
      );
      // 141, silent, like a tool whose reader went away ("| head -1").
      expect(code, Buffer.concat(said).toString('utf8')).toBe(141);
      expect(Buffer.concat(said).toString('utf8')).not.toContain('error');
    }
  });

  it('--workers applies to --verify only', async () => {
    const res = await mosaic([
      'replay',
      '--context',
      operator,
      '--stream',
      'reports',
      '--workers',
      '2',
      '--reason',
      'usage',
    ]);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('--workers applies to --verify');
  });
});
