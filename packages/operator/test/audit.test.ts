/**
 * The operator's live audit reads against a real nats-server holding the hub's streams,
 * written here the way the hub's services write them.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  MerkleLog,
  checkProofFile,
  encodeEntry,
  formatCheckpoint,
  generateHubKey,
  hubJwks,
  hubKeysFromJwks,
  leafHash,
  prevHash,
  signCheckpoint,
  verifyAuditLog,
  type AuditEntry,
  type HubKey,
} from '@mosaic/audit-log';
import {
  AUDIT_CHECKPOINTS_SUBJECT,
  AlertKind,
  StreamSubjects,
  Streams,
  TREE_SIZE_HEADER,
  alertSubject,
  ensureAuditStreams,
  ensureStreams,
  reportSubject,
} from '@mosaic/protocol';
import { startServer, type NatsServerHandle } from '@mosaic/testkit';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  checkAuditCoverage,
  proveAuditEntry,
  readAuditEntries,
  readLiveCheckpoints,
} from '../src/index.ts';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const time = new Date(Date.UTC(2026, 0, 1)).toISOString();

/** A hub's streams on a fresh server, and an appender that writes AUDIT like the auditor. */
async function hubStreams(server: NatsServerHandle) {
  const nc = await connect({ servers: server.url });
  const jsm = await jetstreamManager(nc);
  // One server per file; each test starts from new, empty streams.
  const names: string[] = [];
  for await (const name of jsm.streams.names()) names.push(name);
  for (const name of names) await jsm.streams.delete(name);
  await ensureStreams(jsm);
  await ensureAuditStreams(jsm);
  const js = jetstream(nc);
  const log = new MerkleLog();
  let last: Uint8Array | undefined;
  return {
    nc,
    jsm,
    log,
    async append(entry: Omit<AuditEntry, 'v' | 'time' | 'prev'>): Promise<number> {
      const body = { v: 1 as const, time, ...entry };
      const data = encodeEntry(last === undefined ? body : { ...body, prev: prevHash(last) });
      const ack = await js.publish(StreamSubjects[Streams.Audit], data, {
        msgID: hex(leafHash(data)),
      });
      log.append(leafHash(data));
      last = data;
      return ack.seq;
    },
    async checkpoint(key: HubKey): Promise<string> {
      const text = signCheckpoint(
        formatCheckpoint({ origin: key.name, size: log.size, root: log.root() }),
        key,
      );
      const h = headers();
      h.set(TREE_SIZE_HEADER, String(log.size));
      await js.publish(AUDIT_CHECKPOINTS_SUBJECT, text, { headers: h });
      return text;
    },
    async report(issuer: string, reportId: string): Promise<number> {
      const subject = reportSubject({ origin: 'DE', category: 'financial', issuer, reportId });
      return (await js.publish(subject, `jws-of-${reportId}`)).seq;
    },
    async alert(recipient: string, issuer: string, reportId: string): Promise<number> {
      const subject = alertSubject(recipient, AlertKind.Report, issuer, reportId);
      return (await js.publish(subject, `jws-of-${reportId}`)).seq;
    },
  };
}

let server: NatsServerHandle;
let key: HubKey;
const open: NatsConnection[] = [];

beforeAll(async () => {
  server = await startServer({ jetstream: true });
  key = await generateHubKey('hub.test');
});
afterAll(async () => {
  for (const nc of open) await nc.close();
  await server[Symbol.asyncDispose]();
});

async function fresh(): Promise<Awaited<ReturnType<typeof hubStreams>>> {
  const hub = await hubStreams(server);
  open.push(hub.nc);
  return hub;
}

async function purge(jsm: JetStreamManager, name: string): Promise<void> {
  // The hub's streams deny purge; tests recreate them instead.
  const config = (await jsm.streams.info(name)).config;
  await jsm.streams.delete(name);
  await jsm.streams.add(config);
}

const accepted = (issuer: string, reportId: string, seq: number) => ({
  actor: { kind: 'agency' as const, id: issuer },
  action: 'report.accepted' as const,
  subject: { issuer, reportId },
  refs: [{ stream: Streams.Reports, seq }],
});
const disclosed = (issuer: string, reportId: string, recipients: string[]) => ({
  actor: { kind: 'service' as const, id: 'router' },
  action: 'alert.disclosed' as const,
  subject: { issuer, reportId },
  recipients: recipients.map((agency) => ({ agency })),
});

describe('live audit reads', () => {
  it('read AUDIT, the checkpoints and the coverage of what the hub stored; prove an entry', async () => {
    const hub = await fresh();
    const r1 = await hub.report('de-bka', 'r1');
    await hub.append(accepted('de-bka', 'r1', r1));
    await hub.alert('nl-police', 'de-bka', 'r1');
    await hub.append(disclosed('de-bka', 'r1', ['nl-police']));
    const r2 = await hub.report('de-bka', 'r2');
    await hub.append({ ...accepted('de-bka', 'r2', r2), recovered: true });
    await hub.checkpoint(key);

    const entries = await readAuditEntries(hub.jsm);
    expect(entries.map((e) => [e.index, e.seq])).toEqual([
      [0, 1],
      [1, 2],
      [2, 3],
    ]);
    const { checkpoints, origins } = await readLiveCheckpoints(hub.jsm);
    expect(origins).toEqual(['AUDIT_CHECKPOINTS seq 1']);
    const keys = hubKeysFromJwks(JSON.parse(JSON.stringify(hubJwks([key]))));
    expect(await verifyAuditLog(entries, checkpoints, keys)).toMatchObject({
      ok: true,
      entries: 3,
      checkpoints: 1,
    });
    expect(await checkAuditCoverage(hub.jsm, entries)).toEqual({
      reports: 2,
      alerts: 1,
      recovered: 1,
    });

    const proof = await proveAuditEntry(hub.jsm, 2);
    expect(proof).toMatchObject({ index: 1, size: 3, checkpoint: checkpoints[0] });
    expect(checkProofFile(proof, hubJwks([key]), 'proof.json')).toEqual({
      index: 1,
      size: 3,
      action: 'alert.disclosed',
    });
    await expect(proveAuditEntry(hub.jsm, 4)).rejects.toMatchObject({
      code: 'ERR_USAGE',
      details: { seq: 4, size: 3 },
    });
    await hub.append(disclosed('de-bka', 'r2', []));
    await expect(proveAuditEntry(hub.jsm, 4)).rejects.toMatchObject({
      code: 'ERR_UNAVAILABLE',
      details: { seq: 4, checkpointSize: 3 },
    });
  });

  it('name a report without collection entry, an alert without disclosure, and removed reports', async () => {
    const hub = await fresh();
    const r1 = await hub.report('de-bka', 'r1');
    await hub.append(accepted('de-bka', 'r1', r1));
    const r2 = await hub.report('de-bka', 'r2');
    const uncollected = await readAuditEntries(hub.jsm);
    await expect(checkAuditCoverage(hub.jsm, uncollected)).rejects.toMatchObject({
      code: 'ERR_AUDIT_INVALID',
      message: expect.stringMatching(/^REPORTS seq 2 \(.*\.r2\) has no collection entry/) as string,
      details: { stream: 'REPORTS', seq: r2 },
    });
    await hub.append(accepted('de-bka', 'r2', r2));
    // An alert to ro-dicot, disclosed to nl-police only.
    await hub.append(disclosed('de-bka', 'r1', ['nl-police']));
    await hub.alert('nl-police', 'de-bka', 'r1');
    const alertSeq = await hub.alert('ro-dicot', 'de-bka', 'r1');
    await expect(
      checkAuditCoverage(hub.jsm, await readAuditEntries(hub.jsm)),
    ).rejects.toMatchObject({
      code: 'ERR_AUDIT_INVALID',
      message: expect.stringMatching(/is covered by no disclosure entry/) as string,
      details: { stream: 'ALERTS', seq: alertSeq },
    });
    // REPORTS replaced by an empty stream: the collected reports are missing.
    const entries = await readAuditEntries(hub.jsm);
    await purge(hub.jsm, Streams.Reports);
    await expect(checkAuditCoverage(hub.jsm, entries)).rejects.toMatchObject({
      code: 'ERR_AUDIT_INVALID',
      details: { stream: 'REPORTS', seq: r2, problem: 'reports-missing' },
    });
    await hub.jsm.streams.delete(Streams.Reports);
    await expect(checkAuditCoverage(hub.jsm, entries)).rejects.toMatchObject({
      code: 'ERR_AUDIT_INVALID',
      details: { stream: 'REPORTS', problem: 'stream-missing' },
    });
  });

  it('name a foreign AUDIT message by its sequence; a copy without msg ids is read', async () => {
    const hub = await fresh();
    await hub.append(accepted('de-bka', 'r1', 1));
    const junk = await jetstream(hub.nc).publish(StreamSubjects[Streams.Audit], '{"v":1}');
    await expect(readAuditEntries(hub.jsm)).rejects.toMatchObject({
      code: 'ERR_AUDIT_INVALID',
      message: expect.stringMatching(
        /^the audit log is not intact at entry 1 \(AUDIT seq 2\): foreign: /,
      ) as string,
      details: { index: 1, seq: junk.seq, problem: 'foreign' },
    });
    await expect(readAuditEntries(hub.jsm, 'NO_SUCH_COPY')).rejects.toMatchObject({
      code: 'ERR_AUDIT_INVALID',
      details: { stream: 'NO_SUCH_COPY', problem: 'stream-missing' },
    });
  });

  it("add the hub's checkpoint file unless a larger checkpoint is stored", async () => {
    const hub = await fresh();
    const dir = await mkdtemp(join(tmpdir(), 'mosaic-operator-test-'));
    try {
      await hub.append(accepted('de-bka', 'r1', 1));
      const small = signCheckpoint(
        formatCheckpoint({ origin: key.name, size: hub.log.size, root: hub.log.root() }),
        key,
      );
      await hub.append(accepted('de-bka', 'r2', 2));
      const stored = await hub.checkpoint(key);
      const file = join(dir, 'checkpoint');

      // No file: nothing added.
      expect(await readLiveCheckpoints(hub.jsm, { checkpointFile: file })).toEqual({
        checkpoints: [stored],
        origins: ['AUDIT_CHECKPOINTS seq 1'],
      });
      await writeFile(file, small);
      expect((await readLiveCheckpoints(hub.jsm, { checkpointFile: file })).checkpoints).toEqual([
        stored,
      ]);
      // The stream lost its checkpoints: the file's copy still counts.
      await purge(hub.jsm, 'AUDIT_CHECKPOINTS');
      await writeFile(file, stored);
      expect(await readLiveCheckpoints(hub.jsm, { checkpointFile: file })).toEqual({
        checkpoints: [stored],
        origins: [`the checkpoint file ${file}`],
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
