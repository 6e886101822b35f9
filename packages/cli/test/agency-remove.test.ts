import { randomUUID } from 'node:crypto';
import { access, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contextConnectOptions, parseContextFile } from '@mosaic/identities';
import { startHub, type Hub } from '@mosaic/hub';
import { createLogger } from '@mosaic/log';
import { connectAgency } from '@mosaic/sdk';
import { bounded } from '@mosaic/testkit';
import { connect } from '@nats-io/transport-node';
import { addBePolice, mosaic } from './helpers.ts';

const financialFlow = new URL(
  '../../../schemas/examples/valid/financial-flow.json',
  import.meta.url,
);

let dir: string;
let hub: Hub;
let operator: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mosaic-remove-'));
  hub = await startHub({
    dataDir: join(dir, 'data'),
    port: 0,
    log: createLogger({ service: 'hub', level: process.env['MOSAIC_LOG_LEVEL'] ?? 'silent' }),
  });
  operator = join(hub.contextsDir, 'operator.json');
});

afterAll(async () => {
  await hub.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('mosaic agency remove', () => {
  it('revokes the agency at the broker and keeps its stored reports verifiable', async () => {
    await addBePolice(dir, operator);
    const contextPath = join(hub.contextsDir, 'be-police.json');
    const contextText = await readFile(contextPath, 'utf8');
    const example = JSON.parse(await readFile(financialFlow, 'utf8')) as Record<string, unknown>;
    delete example['lineage'];
    await using be = await connectAgency({
      context: contextPath,
      key: join(dir, 'be-police.k1.private.jwk'),
    });
    const reply = await be.publish({
      ...example,
      reportId: randomUUID(),
      // The hub refuses reports older than its maximum age: issued now.
      issuedAt: new Date().toISOString(),
      issuer: 'be-police',
      origin: 'BE',
      jurisdictions: ['BE'],
      handling: { tlp: 'GREEN' },
    });
    expect(reply, JSON.stringify(reply)).toMatchObject({ ok: true, duplicate: false });
    const seq = reply.ok ? reply.seq : 0;
    // A client of be-police that gives up after a few reconnects.
    const client = await connect({
      ...contextConnectOptions(parseContextFile(contextText)),
      maxReconnectAttempts: 3,
      reconnectTimeWait: 100,
    });
    const closed = client.closed();

    // Refused while an agreement names it.
    const agreement = await mosaic([
      'agreements',
      'add',
      '--context',
      operator,
      '--from',
      'be-police',
      '--to',
      'nl-police',
      '--reason',
      'MoU',
    ]);
    expect(agreement.code, agreement.stderr).toBe(0);
    const refused = await mosaic([
      'agency',
      'remove',
      '--context',
      operator,
      '--agency',
      'be-police',
      '--reason',
      'ended',
    ]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/ERR_FEDERATION: not removed[^]*agreements \d+ name be-police/);
    const id = String((JSON.parse(agreement.stdout) as { added: number }).added);
    const dropped = await mosaic([
      'agreements',
      'remove',
      '--context',
      operator,
      '--id',
      id,
      '--reason',
      'ended',
    ]);
    expect(dropped.code, dropped.stderr).toBe(0);

    const removed = await mosaic([
      'agency',
      'remove',
      '--context',
      operator,
      '--agency',
      'be-police',
      '--reason',
      'MoU 2026-14 terminated',
    ]);
    expect(removed.code, removed.stderr).toBe(0);
    expect(JSON.parse(removed.stdout)).toMatchObject({ removed: 'be-police' });

    // The connected client is cut off and cannot come back; the context is gone.
    expect(await bounded(closed, 10_000, "be-police's connection is cut")).toBeInstanceOf(Error);
    await expect(access(contextPath)).rejects.toThrow(/ENOENT/);
    await expect(
      connect({ ...contextConnectOptions(parseContextFile(contextText)), timeout: 2_000 }),
    ).rejects.toThrow();
    const list = await mosaic(['agency', 'list', '--context', operator]);
    expect(list.stdout).not.toContain('be-police');

    // What it published before stays verifiable with its retired key.
    const replay = await mosaic([
      'replay',
      '--context',
      operator,
      '--stream',
      'reports',
      '--verify',
      '--from-seq',
      String(seq),
      '--to-seq',
      String(seq),
      '--reason',
      'case 2026/7',
    ]);
    expect(replay.code, replay.stderr).toBe(0);
    expect(JSON.parse(replay.stdout)).toMatchObject({ seq, verified: true });

    const again = await mosaic([
      'agency',
      'remove',
      '--context',
      operator,
      '--agency',
      'be-police',
      '--reason',
      'again',
    ]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/ERR_AGENCY_UNKNOWN/);
  });
});
