import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AUDIT_CHECKPOINTS_STREAM,
  AUDIT_CHECKPOINTS_SUBJECT,
  HUB_API_PREFIX,
  StreamSubjects,
  Streams,
  streamConfigs,
} from '@mosaic/protocol';
import { contextConnectOptions, readContextFile } from '@mosaic/identities';
import { startHub, type Hub } from '@mosaic/hub';
import { createLogger } from '@mosaic/log';
import { connectAgency } from '@mosaic/sdk';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterEach, describe, expect, it } from 'vitest';
import { mosaic, recruitment, routerIdle } from './helpers.ts';

/**
 * The audit trail when its streams are damaged, deleted or written by someone else. The
 * operator connection has every permission: it stands in for a hole in the broker's
 * permissions (or an operator's mistake).
 */
const log = () =>
  createLogger({ service: 'hub', level: process.env['MOSAIC_LOG_LEVEL'] ?? 'silent' });
const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

interface Running {
  dataDir: string;
  hub: Hub;
  operator: string;
  nc: NatsConnection;
  /** Reads, as the routine operator. */
  jsm: JetStreamManager;
  /** Stream administration, break-glass. */
  admin: JetStreamManager;
}

async function runHub(dataDir?: string): Promise<Running> {
  const dir = dataDir ?? join(await mkdtemp(join(tmpdir(), 'mosaic-robust-')), 'data');
  if (dataDir === undefined)
    cleanup.push(() => rm(join(dir, '..'), { recursive: true, force: true }));
  const hub = await startHub({
    dataDir: dir,
    port: 0,
    checkpointEvery: { entries: 4, seconds: 60, quietSeconds: 60 },
    log: log(),
  });
  const operator = join(hub.contextsDir, 'operator.json');
  // Reads as the routine operator (not audited); deleting streams and writing junk is what
  // only the break-glass identity can do (each of its API calls is itself audited).
  const opNc = await connect(contextConnectOptions(await readContextFile(operator)));
  const nc = await connect(
    contextConnectOptions(await readContextFile(join(hub.dataDir, 'breakglass', 'admin.json'))),
  );
  const stop = async (): Promise<void> => {
    await nc.close();
    await opNc.close();
    await hub.stop();
  };
  cleanup.push(stop);
  return {
    dataDir: dir,
    hub,
    operator,
    nc,
    jsm: await jetstreamManager(opNc, { apiPrefix: HUB_API_PREFIX, checkAPI: false }),
    admin: await jetstreamManager(nc, { checkAPI: false }),
  };
}

async function publish(run: Running, n: number, retry = true): Promise<void> {
  await using agency = await connectAgency({
    context: join(run.hub.contextsDir, 'nl-police.json'),
    key: join(run.hub.keysDir, 'nl-police.jwk'),
    ...(retry ? {} : { retry: { attempts: 1 }, timeoutMs: 3_000 }),
  });
  for (let i = 0; i < n; i++)
    expect(await agency.publish(recruitment())).toMatchObject({ ok: true });
}

const verify = (run: Running) => mosaic(['audit', 'verify', '--context', run.operator]);

describe('mosaic audit verify when a stream is gone', () => {
  it('AUDIT deleted: ERR_AUDIT_INVALID naming the stream, and the command returns', async () => {
    const run = await runHub();
    await publish(run, 2);
    await routerIdle(run.jsm, 15_000);
    expect((await verify(run)).code).toBe(0);
    await run.admin.streams.delete(Streams.Audit);
    const res = await verify(run);
    expect(res.code, res.stderr).toBe(1);
    expect(res.stderr).toMatch(/ERR_AUDIT_INVALID: stream AUDIT does not exist/);
  });

  it('AUDIT_CHECKPOINTS deleted: named; AUDIT and its checkpoints deleted and recreated empty: the checkpoint file in the data dir names the loss', async () => {
    const run = await runHub();
    await publish(run, 3);
    await routerIdle(run.jsm, 15_000);
    await run.hub.auditor.checkpoint();
    await run.admin.streams.delete(AUDIT_CHECKPOINTS_STREAM);
    const gone = await verify(run);
    expect(gone.code, gone.stderr).toBe(1);
    expect(gone.stderr).toMatch(/ERR_AUDIT_INVALID: stream AUDIT_CHECKPOINTS does not exist/);

    await run.admin.streams.delete(Streams.Audit);
    await run.admin.streams.add(streamConfigs()[Streams.Audit]);
    await run.admin.streams.add({
      name: AUDIT_CHECKPOINTS_STREAM,
      subjects: [AUDIT_CHECKPOINTS_SUBJECT],
      allow_direct: true,
    });
    const replaced = await verify(run);
    expect(replaced.code, replaced.stderr).toBe(1);
    expect(replaced.stderr).toMatch(
      /ERR_AUDIT_INVALID: the audit log is not intact at entry 0 \(AUDIT seq 1\): truncated: the log ends after 0 entries but checkpoint 0 signs 6.*the checkpoint file/,
    );
  });

  it('REPORTS deleted and recreated empty: the collected reports it no longer holds are named', async () => {
    const run = await runHub();
    await publish(run, 2);
    await routerIdle(run.jsm, 15_000);
    await run.admin.streams.delete(Streams.Reports);
    const missing = await verify(run);
    expect(missing.code, missing.stderr).toBe(1);
    expect(missing.stderr).toMatch(/ERR_AUDIT_INVALID: stream REPORTS does not exist/);
    await run.admin.streams.add(streamConfigs()[Streams.Reports]);
    const replaced = await verify(run);
    expect(replaced.code, replaced.stderr).toBe(1);
    expect(replaced.stderr).toMatch(
      /ERR_AUDIT_INVALID: the audit log records the collection of REPORTS seq 2 but REPORTS holds only 0 reports/,
    );
  });
});

describe('foreign messages', () => {
  it('junk on the AUDIT subject is named foreign by its sequence; the hub stops auditing and answers ERR_UNAVAILABLE', async () => {
    const run = await runHub();
    await publish(run, 2);
    await routerIdle(run.jsm, 15_000);
    const size = (await run.jsm.streams.info(Streams.Audit)).state.last_seq;
    await jetstream(run.nc).publish(StreamSubjects[Streams.Audit], '{"not":"an entry"}');
    const res = await verify(run);
    expect(res.code, res.stderr).toBe(1);
    expect(res.stderr).toContain(
      `ERR_AUDIT_INVALID: the audit log is not intact at entry ${size} (AUDIT seq ${size + 1}): foreign: AUDIT seq ${size + 1} is a foreign message`,
    );
    await using agency = await connectAgency({
      context: join(run.hub.contextsDir, 'nl-police.json'),
      key: join(run.hub.keysDir, 'nl-police.jwk'),
      retry: { attempts: 1 },
    });
    await expect(agency.publish(recruitment())).rejects.toMatchObject({
      code: 'ERR_UNAVAILABLE',
      message: expect.stringMatching(/audit log is damaged \(foreign at AUDIT seq/) as string,
    });
    expect(run.hub.auditor.health()).toMatchObject({
      ok: false,
      problem: 'foreign',
      seq: size + 1,
    });
    expect((await run.jsm.streams.info(Streams.Audit)).state.last_seq).toBe(size + 1);
  });

  it('a message in AUDIT_CHECKPOINTS that is not a checkpoint of this hub key is named foreign by its sequence', async () => {
    const run = await runHub();
    await publish(run, 1);
    await routerIdle(run.jsm, 15_000);
    await run.hub.auditor.checkpoint();
    const ack = await jetstream(run.nc).publish(AUDIT_CHECKPOINTS_SUBJECT, 'mosaic-hub\n2\nx\n');
    const res = await verify(run);
    expect(res.code, res.stderr).toBe(1);
    expect(res.stderr).toMatch(
      new RegExp(
        `checkpoint-signature: .*AUDIT_CHECKPOINTS seq ${ack.seq} is a foreign message: not a checkpoint signed by this hub key`,
      ),
    );
  });
});

/** Every file under `dir`. */
async function files(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await files(p)));
    else out.push(p);
  }
  return out;
}

describe('an unreadable message at the tail of AUDIT', () => {
  it('the hub starts, says where the damage is, refuses to append after it (ERR_UNAVAILABLE), and audit verify names the entry', async () => {
    const first = await runHub();
    await publish(first, 2);
    await routerIdle(first.jsm, 15_000);
    const size = (await first.jsm.streams.info(Streams.Audit)).state.last_seq;
    await cleanup.pop()?.();
    // One flipped byte in the last stored message: nats-server's checksum drops it at start.
    const block = (await files(join(first.dataDir, 'jetstream'))).find(
      (f) => f.includes(`/streams/${Streams.Audit}/msgs/`) && f.endsWith('.blk'),
    );
    expect(block).toBeDefined();
    const bytes = await readFile(block ?? '');
    bytes[bytes.length - 20] = (bytes[bytes.length - 20] ?? 0) ^ 0x01;
    await writeFile(block ?? '', bytes);

    const run = await runHub(first.dataDir);
    expect(run.hub.auditor.health()).toMatchObject({
      ok: false,
      problem: 'unreadable',
      stream: Streams.Audit,
      seq: size,
    });
    const res = await verify(run);
    expect(res.code, res.stderr).toBe(1);
    expect(res.stderr).toContain(
      `ERR_AUDIT_INVALID: the audit log is not intact at entry ${size - 1} (AUDIT seq ${size}): unreadable`,
    );
    // Ingest still answers — retryably, since nothing can be audited.
    await using agency = await connectAgency({
      context: join(run.hub.contextsDir, 'nl-police.json'),
      key: join(run.hub.keysDir, 'nl-police.jwk'),
      retry: { attempts: 1 },
    });
    await expect(agency.publish(recruitment())).rejects.toMatchObject({
      code: 'ERR_UNAVAILABLE',
    });
    expect((await run.jsm.streams.info(Streams.Audit)).state.last_seq).toBe(size);
  });
});
