import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  MerkleLog,
  decodeEntry,
  encodeEntry,
  formatCheckpoint,
  leafHash,
  prevHash,
  readAuditExport,
  signCheckpoint,
  writeAuditExport,
  type HubKey,
} from '@mosaic/audit-log';
import {
  TREE_SIZE_HEADER,
  readAuditCheckpoints,
  readStream,
  HUB_API_PREFIX,
  ROUTER_CONSUMER,
  Streams,
} from '@mosaic/protocol';
import { contextConnectOptions, readContextFile } from '@mosaic/identities';
import { startHub, type Hub } from '@mosaic/hub';
import { createLogger } from '@mosaic/log';
import { connectAgency } from '@mosaic/sdk';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mosaic } from './helpers.ts';

/**
 * Tamper drills: the audit log is copied into fresh streams created WITHOUT deny
 * delete/purge (AUDIT itself refuses both), altered there, and `mosaic audit verify`
 * must name the exact entry — live (--stream/--checkpoints-stream) and on an export.
 */
let dir: string;
let hub: Hub;
let operator: string;
let nc: NatsConnection;
/** Reads, as the routine operator. */
let jsm: JetStreamManager;
/** The unprotected copies, as the break-glass identity (its API calls are audited too). */
let admin: NatsConnection;
let adminJsm: JetStreamManager;
let entries: Uint8Array[];
let checkpoints: { size: number; text: string }[];
let drill = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mosaic-drills-'));
  hub = await startHub({
    dataDir: join(dir, 'data'),
    port: 0,
    checkpointEvery: { entries: 8, seconds: 60 },
    log: createLogger({ service: 'hub', level: process.env['MOSAIC_LOG_LEVEL'] ?? 'silent' }),
  });
  operator = join(hub.contextsDir, 'operator.json');
  nc = await connect(contextConnectOptions(await readContextFile(operator)));
  jsm = await jetstreamManager(nc, { apiPrefix: HUB_API_PREFIX, checkAPI: false });
  // The drills copy the log into unprotected streams: stream administration, break-glass.
  admin = await connect(
    contextConnectOptions(await readContextFile(join(hub.dataDir, 'breakglass', 'admin.json'))),
  );
  adminJsm = await jetstreamManager(admin, { checkAPI: false });
  await using agency = await connectAgency({
    context: join(hub.contextsDir, 'nl-police.json'),
    key: join(hub.keysDir, 'nl-police.jwk'),
  });
  for (let i = 0; i < 10; i++) {
    const reply = await agency.publish({
      schemaVersion: '1.0',
      reportId: randomUUID(),
      issuer: 'nl-police',
      issuedAt: new Date(Date.now() - 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      origin: 'NL',
      jurisdictions: ['NL'],
      category: 'recruitment',
      indicators: [{ type: 'phone', number: '+31612345678' }],
      narrative: 'Job offers abroad with debt bondage.',
      grading: { sourceReliability: 'B', informationCredibility: 2, confidence: 70 },
      handling: { tlp: 'GREEN' },
    });
    expect(reply).toMatchObject({ ok: true });
  }
  for (let routed = false, deadline = Date.now() + 15_000; !routed;) {
    const info = await jsm.consumers.info(Streams.Reports, ROUTER_CONSUMER);
    routed = info.num_pending + info.num_ack_pending === 0;
    if (!routed && Date.now() > deadline) throw new Error('reports not routed within 15 s');
    if (!routed) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await hub.auditor.checkpoint();
  entries = [];
  for await (const m of readStream(jsm, Streams.Audit)) entries.push(m.data);
  checkpoints = (await readAuditCheckpoints(jsm)).map((c) => ({ size: c.size, text: c.text }));
  // 10 accepted + 10 disclosed; checkpoints at 8, 16 and 20.
  expect(entries).toHaveLength(20);
  expect(checkpoints.map((c) => c.size)).toEqual([8, 16, 20]);
});
afterAll(async () => {
  await nc.close();
  await admin.close();
  await hub.stop();
  await rm(dir, { recursive: true, force: true });
});

/** A fresh, unprotected copy of the log (and checkpoints); returns the verify argv. */
async function copy(
  log: readonly Uint8Array[],
  cps: readonly { size: number; text: string }[] = checkpoints,
): Promise<{ stream: string; argv: string[] }> {
  drill++;
  const stream = `DRILL${drill}`;
  const cpStream = `DRILL${drill}_CP`;
  await adminJsm.streams.add({
    name: stream,
    subjects: [`drill.${drill}.log`],
    storage: 'memory',
    allow_direct: true,
  });
  await adminJsm.streams.add({
    name: cpStream,
    subjects: [`drill.${drill}.cp`],
    storage: 'memory',
    allow_direct: true,
  });
  const js = jetstream(admin);
  for (const data of log) await js.publish(`drill.${drill}.log`, data);
  for (const cp of cps) {
    const h = headers();
    h.set(TREE_SIZE_HEADER, String(cp.size));
    await js.publish(`drill.${drill}.cp`, cp.text, { headers: h });
  }
  return {
    stream,
    argv: [
      'audit',
      'verify',
      '--context',
      operator,
      '--stream',
      stream,
      '--checkpoints-stream',
      cpStream,
      '--jwks',
      hub.hubJwksFile,
    ],
  };
}

async function verifyLive(argv: string[]) {
  return mosaic(argv);
}

async function verifyExport(log: readonly Uint8Array[], cps: readonly { text: string }[]) {
  const file = join(dir, `drill-${drill}.export`);
  await writeAuditExport(file, { entries: [...log], checkpoints: cps.map((c) => c.text) });
  return mosaic(['audit', 'verify', '--export', file, '--jwks', hub.hubJwksFile]);
}

function expectBad(res: { code: number; stderr: string }, index: number): void {
  expect(res.code, res.stderr).toBe(1);
  expect(res.stderr).toMatch(
    new RegExp(`ERR_AUDIT_INVALID: the audit log is not intact at entry ${index} \\(`),
  );
}

describe('tamper drills', () => {
  it('the intact copy verifies (live and exported)', async () => {
    const { argv } = await copy(entries);
    const live = await verifyLive(argv);
    expect(live.code, live.stderr).toBe(0);
    const exported = await verifyExport(entries, checkpoints);
    expect(exported.code, exported.stderr).toBe(0);
    expect((await readAuditExport(join(dir, `drill-${drill}.export`))).entries).toHaveLength(20);
  });

  it('delete one entry (deleteMessage on the live copy)', async () => {
    const { stream, argv } = await copy(entries);
    await adminJsm.streams.deleteMessage(stream, 6); // entry index 5
    expectBad(await verifyLive(argv), 5);
    expectBad(await verifyExport([...entries.slice(0, 5), ...entries.slice(6)], checkpoints), 5);
  });

  it('change one byte', async () => {
    const changed = entries.map((e) => new Uint8Array(e)); // a copy (Buffer.slice would share)
    const target = changed[11] ?? new Uint8Array();
    // A digit of the time: still a well-formed entry, but not the one that was chained.
    const at = new TextDecoder().decode(target).indexOf('"time":"') + 10;
    target[at] = target[at] === 0x30 ? 0x31 : 0x30;
    const { argv } = await copy(changed);
    expectBad(await verifyLive(argv), 11);
    expectBad(await verifyExport(changed, checkpoints), 11);
  });

  it('swap two entries', async () => {
    const swapped = [...entries];
    [swapped[3], swapped[4]] = [entries[4] ?? new Uint8Array(), entries[3] ?? new Uint8Array()];
    const { argv } = await copy(swapped);
    expectBad(await verifyLive(argv), 3);
    expectBad(await verifyExport(swapped, checkpoints), 3);
  });

  it('truncate the tail after a checkpoint', async () => {
    const truncated = entries.slice(0, 17); // checkpoint 20 signed entries 17..19
    const { argv } = await copy(truncated);
    expectBad(await verifyLive(argv), 17);
    expectBad(await verifyExport(truncated, checkpoints), 17);
  });

  it('a second history: rewritten and re-chained after a checkpoint, and a second signed root for one size', async () => {
    const rewrite = (from: number): Uint8Array[] => {
      const forked = entries.slice(0, from);
      for (const original of entries.slice(from)) {
        const entry = decodeEntry(original);
        forked.push(
          encodeEntry({
            ...entry,
            details: { ...entry.details, forged: true },
            prev: prevHash(forked.at(-1) ?? new Uint8Array()),
          }),
        );
      }
      return forked;
    };
    // The chain is intact, so only the signed roots tell: the first entry after the last
    // checkpoint that still matches is named.
    const afterCheckpoint = rewrite(16);
    const live = await verifyLive((await copy(afterCheckpoint)).argv);
    expectBad(live, 16);
    expect(live.stderr).toMatch(/checkpoint-root-mismatch: entries 16\.\.19 /);
    expectBad(await verifyExport(afterCheckpoint, checkpoints), 16);
    const inside = rewrite(12);
    const named = await verifyLive((await copy(inside)).argv);
    expectBad(named, 8);
    expect(named.stderr).toMatch(/entries 8\.\.15 do not hash to the root signed/);

    // The hub key signing a second root for size 20: two histories, whichever is shown.
    const hubKey = JSON.parse(await readFile(join(hub.dataDir, 'hub.jwk'), 'utf8')) as HubKey;
    const tree = new MerkleLog();
    for (const data of afterCheckpoint) tree.append(leafHash(data));
    const forged = signCheckpoint(
      formatCheckpoint({ origin: hubKey.name, size: 20, root: tree.root() }),
      hubKey,
    );
    const both = [...checkpoints, { size: 20, text: forged }];
    for (const log of [entries, afterCheckpoint]) {
      const res = await verifyExport(log, both);
      expect(res.code, res.stderr).toBe(1);
      expect(res.stderr).toMatch(
        /ERR_AUDIT_INVALID: the audit log is not intact at checkpoint 3: fork: checkpoints 2 and 3 are both signed for tree size 20/,
      );
    }
    const res = await verifyLive((await copy(entries, both)).argv);
    expect(res.stderr).toMatch(/at checkpoint 3: fork/);
  });
});
