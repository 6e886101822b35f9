import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { accountDirectory, contextFile } from '@mosaic/identities';
import { startBrokerHub, type BrokerHub } from '@mosaic/identities/test-support';
import { staticRegistryView } from '@mosaic/federation';
import { agencyKeys, policeFederation } from '@mosaic/federation/internal';
import { startIngest } from '@mosaic/ingest';
import { createLogger } from '@mosaic/log';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mosaic } from './helpers.ts';

const NL = 'nl-police';
const DE = 'de-bka';

let hub: BrokerHub;
let dir: string;
let contextNl: string;
let keyNl: string;
let publicKeyNl: object;

beforeAll(async () => {
  const keys = await agencyKeys([NL, DE]);
  const federation = policeFederation({ [NL]: 'NL', [DE]: 'DE' }, keys);
  hub = await startBrokerHub(federation, { dirPrefix: 'mosaic-cli-publish-' });
  const { ids } = hub;
  hub.stopOnDispose(
    await startIngest({
      nc: await hub.connectAs(ids.services.ingest),
      registry: staticRegistryView(federation),
      log: createLogger({ service: 'ingest', level: 'silent' }),
      accounts: accountDirectory(ids),
    }),
  );
  dir = hub.dir;
  contextNl = await hub.contextPath(ids.agencies.get(NL)!);
  keyNl = join(dir, 'nl-police.jwk');
  await writeFile(keyNl, JSON.stringify(keys.get(NL)!.privateJwk), { mode: 0o600 });
  publicKeyNl = keys.get(NL)!.publicJwk;
});
afterAll(async () => {
  await hub[Symbol.asyncDispose]();
});

function report(overrides: Record<string, unknown> = {}) {
  return {
    schemaVersion: '1.0',
    reportId: randomUUID(),
    issuer: NL,
    issuedAt: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    origin: 'NL',
    jurisdictions: ['NL'],
    category: 'recruitment',
    indicators: [{ type: 'phone', number: '+31612345678' }],
    narrative: 'CLI test.',
    grading: { sourceReliability: 'B', informationCredibility: 2, confidence: 70 },
    handling: { tlp: 'GREEN' },
    ...overrides,
  };
}

async function reportFile(body: object): Promise<string> {
  const path = join(dir, `${randomUUID()}.json`);
  await writeFile(path, JSON.stringify(body, null, 2));
  return path;
}

const base = (): string[] => ['publish', '--context', contextNl, '--key', keyNl];

describe('mosaic publish', () => {
  it('prints the hub reply and exits 0; the same report again is a duplicate, exit 0', async () => {
    const body = report();
    const file = await reportFile(body);
    const first = await mosaic([...base(), file]);
    expect(first.code, first.stderr).toBe(0);
    const reply = JSON.parse(first.stdout) as { seq: number };
    expect(reply).toMatchObject({ ok: true, reportId: body.reportId, duplicate: false });
    const again = await mosaic([...base(), file]);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toEqual({ ...reply, duplicate: true });
  });

  it('reads the report from standard input with -', async () => {
    const body = report();
    const res = await mosaic([...base(), '-'], JSON.stringify(body));
    expect(res.code, res.stderr).toBe(0);
    expect(JSON.parse(res.stdout)).toMatchObject({ ok: true, reportId: body.reportId });
  });

  it('exits 1 with the code on stderr when the hub rejects the report', async () => {
    const res = await mosaic([...base(), await reportFile(report({ origin: 'DE' }))]);
    expect(res.code).toBe(1);
    expect(JSON.parse(res.stdout)).toMatchObject({
      ok: false,
      code: 'ERR_JURISDICTION_NOT_ALLOWED',
    });
    expect(res.stderr).toMatch(/^error ERR_JURISDICTION_NOT_ALLOWED: /);
  });

  it('exits 1 without sending a report the schema refuses', async () => {
    const res = await mosaic([...base(), await reportFile({ ...report(), grading: 'A1' })]);
    expect(res.code).toBe(1);
    expect(res.stdout).toBe('');
    expect(res.stderr).toMatch(/^error ERR_SCHEMA: /);
  });

  it('exits 3 when the hub is unreachable', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as { port: number };
    await new Promise((resolve) => probe.close(resolve));
    const context = join(dir, 'unreachable.json');
    await writeFile(context, contextFile(hub.ids.agencies.get(NL)!, `nats://127.0.0.1:${port}`), {
      mode: 0o600,
    });
    const res = await mosaic([
      'publish',
      '--context',
      context,
      '--key',
      keyNl,
      await reportFile(report()),
    ]);
    expect(res.code).toBe(3);
    expect(res.stderr).toMatch(/^error ERR_UNAVAILABLE: /);
  });

  it('exits 3 saying a private key is needed when --key is a public key', async () => {
    const pub = join(dir, 'nl-police.public.jwk');
    await writeFile(pub, JSON.stringify(publicKeyNl), { mode: 0o644 });
    const res = await mosaic([
      'publish',
      '--context',
      contextNl,
      '--key',
      pub,
      await reportFile(report()),
    ]);
    expect(res.code).toBe(3);
    expect(res.stdout).toBe('');
    expect(res.stderr).toMatch(/^error ERR_KEY_FILE: .*is a public key.*private key/);
    expect(res.stderr).not.toContain('chmod');
  });

  it('exits 2 on a usage error', async () => {
    expect((await mosaic(['publish', '--context', contextNl, 'x.json'])).code).toBe(2);
    expect((await mosaic([...base(), '--concurrency', '0', '--ndjson', 'x'])).code).toBe(2);
  });
});

describe('mosaic publish --ndjson', () => {
  it('prints one reply per report in input order, lists rejections, exits 1 if any', async () => {
    const bodies = Array.from({ length: 60 }, (_, i) =>
      i === 17 ? report({ origin: 'DE' }) : report(),
    );
    const lines = bodies.map((b) => JSON.stringify(b));
    lines.splice(30, 0, ''); // blank lines are skipped
    const file = join(dir, 'batch.ndjson');
    await writeFile(file, `${lines.join('\n')}\n`);
    const res = await mosaic([...base(), '--ndjson', '--concurrency', '8', file]);
    expect(res.code).toBe(1);
    const replies = res.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { ok: boolean; reportId?: string; code?: string });
    expect(replies).toHaveLength(60);
    replies.forEach((r, i) => {
      if (i === 17) expect(r).toMatchObject({ ok: false, code: 'ERR_JURISDICTION_NOT_ALLOWED' });
      else expect(r).toMatchObject({ ok: true, reportId: bodies[i]!.reportId });
    });
    expect(res.stderr).toContain('line 18: error ERR_JURISDICTION_NOT_ALLOWED');
    expect(res.stderr).toMatch(/published 60: 59 accepted \(0 duplicates\), 1 rejected/);
    // Not a terminal: no progress bar.
    expect(res.stderr).not.toContain('\r');
  });

  it('reads NDJSON from standard input, exits 0 when all are accepted', async () => {
    const bodies = Array.from({ length: 5 }, () => report());
    const res = await mosaic(
      [...base(), '--ndjson', '-'],
      bodies.map((b) => JSON.stringify(b)).join('\n'),
    );
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout.trim().split('\n')).toHaveLength(5);
    expect(res.stderr).toMatch(/published 5: 5 accepted/);
  });

  it('draws a progress bar with count, total and rate when stderr is a terminal', async () => {
    const file = join(dir, 'tty.ndjson');
    await writeFile(file, Array.from({ length: 20 }, () => JSON.stringify(report())).join('\n'));
    const res = await mosaic([...base(), '--ndjson', file], '', { tty: true });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toMatch(/\r\[[#.]{30}\] \d+% \d+ published \d+\/s/);
  });

  it('reads a FIFO once, as a stream; the progress line then has no total', async () => {
    const fifo = join(dir, 'reports.fifo');
    await promisify(execFile)('mkfifo', [fifo]);
    const bodies = Array.from({ length: 7 }, () => report());
    // The writer opens the FIFO as the command opens it to read; both meet there.
    const writer = writeFile(fifo, bodies.map((b) => `${JSON.stringify(b)}\n`).join(''));
    const res = await mosaic([...base(), '--ndjson', fifo], '', { tty: true });
    await writer;
    expect(res.code, res.stderr).toBe(0);
    const replies = res.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { reportId: string });
    expect(replies.map((r) => r.reportId)).toEqual(bodies.map((b) => b.reportId));
    expect(res.stderr).toMatch(/\r\d+ published \d+\/s/);
    expect(res.stderr).not.toMatch(/\r\[/);
    expect(res.stderr).toMatch(/published 7: 7 accepted/);
  });

  it('reads a process substitution <(cmd) from a real shell', async () => {
    const file = join(dir, 'substituted.ndjson');
    const bodies = Array.from({ length: 4 }, () => report());
    await writeFile(file, bodies.map((b) => JSON.stringify(b)).join('\n'));
    const bin = new URL('../bin/mosaic.js', import.meta.url).pathname;
    const quote = (x: string): string => `'${x.replaceAll("'", "'\\''")}'`;
    const command = [process.execPath, bin, ...base(), '--ndjson']
      .map(quote)
      .concat(`<(cat ${quote(file)})`)
      .join(' ');
    const { stdout, stderr } = await promisify(execFile)('bash', ['-c', command]);
    const replies = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { ok: boolean; reportId: string });
    expect(
      replies.map((r) => r.reportId),
      stderr,
    ).toEqual(bodies.map((b) => b.reportId));
    expect(stderr).toMatch(/published 4: 4 accepted/);
  });
});
