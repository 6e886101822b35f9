import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeEntry } from '@mosaic/audit-log';
import { readStream, Streams } from '@mosaic/protocol';
import { startHub, type Hub } from '@mosaic/hub';
import { connectOperator, type OperatorSession } from '@mosaic/operator';
import { createLogger } from '@mosaic/log';
import { connectAgency, type Alert } from '@mosaic/sdk';
import { addBePolice, mosaic, routerIdle } from './helpers.ts';

const financialFlow = new URL(
  '../../../schemas/examples/valid/financial-flow.json',
  import.meta.url,
);

let dir: string;
let hub: Hub;
let operator: string;
let op: OperatorSession;

/** An AMBER financial-flow report of be-police about BE: nl-police's EU-wide rule matches it. */
async function amberReport(): Promise<object> {
  const example = JSON.parse(await readFile(financialFlow, 'utf8')) as Record<string, unknown>;
  delete example['lineage'];
  return {
    ...example,
    reportId: randomUUID(),
    issuer: 'be-police',
    issuedAt: new Date(Date.now() - 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    origin: 'BE',
    jurisdictions: ['BE'],
    handling: { tlp: 'AMBER' },
  };
}

/** Publishes a new AMBER report as be-police; resolves once it is routed, with its id. */
async function publishAmber(): Promise<string> {
  await using be = await connectAgency({
    context: join(hub.contextsDir, 'be-police.json'),
    key: join(dir, 'be-police.k1.private.jwk'),
  });
  const reply = await be.publish(await amberReport());
  expect(reply, JSON.stringify(reply)).toMatchObject({ ok: true, duplicate: false });
  await routerIdle(op.jsm);
  return reply.ok ? reply.reportId : '';
}

/** The alerts nl-police has waiting now (read and acknowledged). */
async function nlAlerts(): Promise<Alert[]> {
  await using nl = await connectAgency({ context: join(hub.contextsDir, 'nl-police.json') });
  const got: Alert[] = [];
  await nl.subscribe((a) => {
    got.push(a);
  });
  return got;
}

async function applied(revision: number): Promise<void> {
  await expect
    .poll(() => hub.registry.revision(), { timeout: 5_000 })
    .toBeGreaterThanOrEqual(revision);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mosaic-agreements-'));
  hub = await startHub({
    dataDir: join(dir, 'data'),
    port: 0,
    log: createLogger({ service: 'hub', level: process.env['MOSAIC_LOG_LEVEL'] ?? 'silent' }),
  });
  operator = join(hub.contextsDir, 'operator.json');
  op = await connectOperator(operator);
  await addBePolice(dir, operator);
});

afterAll(async () => {
  await op.close();
  await hub.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('mosaic agreements', () => {
  it('an AMBER report of a new agency reaches a recipient only while an agreement covers it', async () => {
    // No agreement yet: accepted, but nobody may receive it.
    const before = await publishAmber();
    expect((await nlAlerts()).map((a) => a.report.reportId)).not.toContain(before);

    const add = await mosaic([
      'agreements',
      'add',
      '--context',
      operator,
      '--from',
      'be-police',
      '--to',
      'nl-police',
      '--max-tlp',
      'AMBER',
      '--note',
      'MoU 2026-14',
      '--reason',
      'MoU 2026-14 signed',
    ]);
    expect(add.code, add.stderr).toBe(0);
    const added = JSON.parse(add.stdout) as { added: number; revision: number };
    expect(added).toMatchObject({
      agreement: { from: 'be-police', to: 'nl-police', maxTlp: 'AMBER', note: 'MoU 2026-14' },
    });
    await applied(added.revision);

    const list = await mosaic(['agreements', 'list', '--context', operator]);
    expect(list.code, list.stderr).toBe(0);
    const listed = list.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const mine = listed.find((a) => a['id'] === added.added);
    expect(mine).toMatchObject({ from: 'be-police', to: 'nl-police' });

    const during = await publishAmber();
    const received = (await nlAlerts()).filter((a) => a.originator === 'be-police');
    expect(received.map((a) => a.report.reportId)).toEqual([during]);
    expect(received[0]?.reason).toMatchObject({ via: 'agreement', agreement: mine?.['index'] });

    const remove = await mosaic([
      'agreements',
      'remove',
      '--context',
      operator,
      '--id',
      String(added.added),
      '--reason',
      'MoU 2026-14 ended',
    ]);
    expect(remove.code, remove.stderr).toBe(0);
    const removed = JSON.parse(remove.stdout) as { removed: number; revision: number };
    expect(removed.removed).toBe(added.added);
    await applied(removed.revision);
    const after = (await mosaic(['agreements', 'list', '--context', operator])).stdout;
    expect(after).not.toContain('be-police');

    await publishAmber();
    expect((await nlAlerts()).filter((a) => a.originator === 'be-police')).toEqual([]);

    // Both changes are on the record with their reasons.
    const changes = [];
    for await (const m of readStream(op.jsm, Streams.Audit)) {
      const entry = decodeEntry(m.data);
      if (entry.action === 'registry.changed') changes.push(entry);
    }
    expect(changes.map((e) => [e.details?.['change'], e.justification])).toEqual(
      expect.arrayContaining([
        ['agreement.add', 'MoU 2026-14 signed'],
        ['agreement.remove', 'MoU 2026-14 ended'],
      ]),
    );
  });

  it('refuses an agreement the registry cannot hold, and changes without a reason', async () => {
    const unknown = await mosaic([
      'agreements',
      'add',
      '--context',
      operator,
      '--from',
      'be-police',
      '--to',
      'xx-none',
      '--reason',
      'test',
    ]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/ERR_FEDERATION[^]*xx-none is not defined/);
    const self = await mosaic([
      'agreements',
      'add',
      '--context',
      operator,
      '--from',
      'be-police',
      '--to',
      'be-police',
      '--reason',
      'test',
    ]);
    expect(self.code).toBe(1);
    const tlp = await mosaic([
      'agreements',
      'add',
      '--context',
      operator,
      '--from',
      'be-police',
      '--to',
      'nl-police',
      '--max-tlp',
      'PURPLE',
      '--reason',
      'test',
    ]);
    expect(tlp.code).toBe(1);
    expect(tlp.stderr).toMatch(/ERR_FEDERATION: not a valid agreement[^]*maxTlp/);
    const noReason = await mosaic([
      'agreements',
      'add',
      '--context',
      operator,
      '--from',
      'be-police',
      '--to',
      'nl-police',
    ]);
    expect(noReason.code).toBe(2);
    const missing = await mosaic([
      'agreements',
      'remove',
      '--context',
      operator,
      '--id',
      '999',
      '--reason',
      'test',
    ]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no agreement 999/);
    expect((await mosaic(['agreements', 'list', '--context', operator])).stdout).not.toContain(
      'be-police',
    );
  });
});
