import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HUB_API_PREFIX, Streams } from '@mosaic/protocol';
import { contextConnectOptions, readContextFile } from '@mosaic/identities';
import { startHub, type Hub } from '@mosaic/hub';
import { createLogger } from '@mosaic/log';
import { connectAgency } from '@mosaic/sdk';
import { bounded, isRunning, onGlibc } from '@mosaic/testkit';
import { verifyReport } from '@mosaic/signing';
import { connect } from '@nats-io/transport-node';
import { mosaic } from './helpers.ts';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const bin = join(repoRoot, 'packages/cli/bin/mosaic.js');
const financialFlow = new URL(
  '../../../schemas/examples/valid/financial-flow.json',
  import.meta.url,
);

/** de-bka's financial-flow example as a new report of `issuer` for `origin`, issued now. */
async function freshReport(issuer: string, origin: string): Promise<Uint8Array> {
  const report = JSON.parse(await readFile(financialFlow, 'utf8')) as Record<string, unknown>;
  return new TextEncoder().encode(
    JSON.stringify({
      ...report,
      reportId: randomUUID(),
      issuer,
      origin,
      issuedAt: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    }),
  );
}

describe('mosaic dev (child process)', () => {
  it('prints exactly one ready line, refuses a second hub on its dir, and SIGTERM stops it with exit 0, no nats-server and no lock left', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'mosaic-dev-'));
    const child = spawn(process.execPath, [bin, 'dev', '--data-dir', dataDir, '--port', '0'], {
      cwd: repoRoot,
      env: { ...process.env, MOSAIC_LOG_FORMAT: 'json' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
      child.once('exit', (code, signal) => {
        resolve({ code, signal });
      }),
    );
    let serverPid = 0;
    try {
      await expect
        .poll(() => stdout, { timeout: 30_000, interval: 50 })
        .toMatch(/^mosaic: hub ready nats:\/\/127\.0\.0\.1:\d+\n$/);
      const ports = (await readdir(dataDir)).find((f) => /^nats-server_\d+\.ports$/.test(f));
      serverPid = Number(/_(\d+)\.ports$/.exec(ports ?? '')?.[1]);
      expect(isRunning(serverPid)).toBe(true);
      // The printed URL works with the agency contexts the hub wrote.
      const context = await readContextFile(join(dataDir, 'contexts', 'de-bka.json'));
      expect(stdout.trim()).toBe(`mosaic: hub ready ${context.url}`);
      const nc = await connect(contextConnectOptions(context));
      await nc.close();
      // The HTTP gateway's URL and how to get a token, logged on stderr; it answers
      // unauthenticated requests with a coded problem.
      const gateway = /"gateway":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(stderr);
      expect(stderr).toContain('"tokenCommand":"mosaic agency token issue --context ');
      expect(gateway, stderr).not.toBeNull();
      const res = await fetch(`${gateway?.[1] ?? ''}/v1/alerts`);
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ code: 'ERR_UNAUTHENTICATED' });

      // A second hub on the same dir refuses to start, with the first one's pid.
      const second = await mosaic(['dev', '--data-dir', dataDir, '--port', '0']);
      expect(second.code, second.stderr).toBe(3);
      expect(second.stderr).toContain(
        `error ERR_HUB_LOCKED: another hub (pid ${String(child.pid)}) is using ${dataDir}`,
      );
      expect(second.stdout).toBe('');

      child.kill('SIGTERM');
      expect(await bounded(exited, 30_000, 'mosaic dev stops on SIGTERM')).toEqual({
        code: 0,
        signal: null,
      });
      expect(stdout.split('\n').filter((l) => l !== '')).toHaveLength(1);
      expect(isRunning(serverPid), 'nats-server is gone').toBe(false);
      expect(await readdir(dataDir), 'the lock is released').not.toContain('hub.lock');
      expect(stderr).toMatch(/"msg":"shutting down"/);
      // Which build it ran: the compiled copy's, or its source.
      expect(stderr).toMatch(
        /"build":"(source|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})".*"msg":"mosaic dev starting"/,
      );
      // It gives the memory its start-up freed back to the system (where glibc is).
      expect(stderr).toMatch(
        new RegExp(`"memoryTrim":"${onGlibc ? 'malloc_trim' : 'unavailable'}".*"msg":"hub ready"`),
      );
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      if (serverPid > 0 && isRunning(serverPid)) process.kill(serverPid, 'SIGKILL');
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 120_000);
  it.each([
    ['Ctrl-C in its terminal', 'SIGINT'],
    ['its terminal closed', 'SIGHUP'],
  ] as const)(
    '%s (%s to the process group) stops the hub in order: the last checkpoint is signed before nats-server goes',
    async (_, signal) => {
      const dataDir = await mkdtemp(join(tmpdir(), 'mosaic-dev-ctrl-c-'));
      // Its own process group, as a terminal's foreground job: Ctrl-C signals every process in it.
      const child = spawn(process.execPath, [bin, 'dev', '--data-dir', dataDir, '--port', '0'], {
        cwd: repoRoot,
        env: { ...process.env, MOSAIC_LOG_FORMAT: 'json' },
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
      child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
      const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
        child.once('exit', (code, signal) => {
          resolve({ code, signal });
        }),
      );
      let serverPid = 0;
      try {
        await expect
          .poll(() => stdout, { timeout: 30_000, interval: 50 })
          .toMatch(/^mosaic: hub ready /);
        const ports = (await readdir(dataDir)).find((f) => /^nats-server_\d+\.ports$/.test(f));
        serverPid = Number(/_(\d+)\.ports$/.exec(ports ?? '')?.[1]);
        {
          await using agency = await connectAgency({
            context: join(dataDir, 'contexts', 'de-bka.json'),
            key: join(dataDir, 'keys', 'de-bka.jwk'),
          });
          const reply = await agency.publish(await freshReport('de-bka', 'DE'));
          expect(reply, JSON.stringify(reply)).toMatchObject({ ok: true, duplicate: false });
        }
        // Right after the reply: its audit entries are (almost always) not under a signed checkpoint yet.
        process.kill(-(child.pid ?? 0), signal);
        expect(await bounded(exited, 30_000, `mosaic dev stops on ${signal}`)).toEqual({
          code: 0,
          signal: null,
        });
        const records = stderr
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .map((l) => JSON.parse(l) as { level: number; msg: string });
        expect(records.filter((r) => r.level >= 50)).toEqual([]);
        expect(isRunning(serverPid), 'nats-server is gone').toBe(false);
      } finally {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        if (serverPid > 0 && isRunning(serverPid)) process.kill(serverPid, 'SIGKILL');
        await rm(dataDir, { recursive: true, force: true });
      }
    },
    120_000,
  );
});

describe('operator commands on a running hub', () => {
  let dir: string;
  let hub: Hub;
  let operator: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mosaic-ops-'));
    hub = await startHub({
      dataDir: join(dir, 'data'),
      log: createLogger({ service: 'hub', level: process.env['MOSAIC_LOG_LEVEL'] ?? 'silent' }),
    });
    operator = join(hub.contextsDir, 'operator.json');
  });
  afterAll(async () => {
    await hub.stop();
    await rm(dir, { recursive: true, force: true });
  });

  /** Waits until the hub's live registry has applied the change at `revision`. */
  async function applied(revision: number): Promise<void> {
    await expect
      .poll(() => hub.registry.revision(), { timeout: 5_000 })
      .toBeGreaterThanOrEqual(revision);
  }

  it('agency list and show print the registry', async () => {
    const list = await mosaic(['agency', 'list', '--context', operator]);
    expect(list.code, list.stderr).toBe(0);
    const ids = list.stdout
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { id: string }).id);
    expect(ids).toEqual(['de-bka', 'ngo-lastrada', 'nl-police', 'ro-dicot']);
    const show = await mosaic(['agency', 'show', '--context', operator, 'ro-dicot']);
    expect(show.code, show.stderr).toBe(0);
    expect(JSON.parse(show.stdout)).toMatchObject({ id: 'ro-dicot', keys: [{ keyId: 'demo' }] });
    const missing = await mosaic(['agency', 'show', '--context', operator, 'xx-none']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/ERR_AGENCY_UNKNOWN/);
  });

  it('agency add returns once the new agency can connect and subscribe, without a restart', async () => {
    const keys = await mosaic([
      'keys',
      'generate',
      '--agency',
      'be-police',
      '--key-id',
      'k1',
      '--out',
      dir,
    ]);
    expect(keys.code, keys.stderr).toBe(0);
    const publicJwk = JSON.parse(keys.stdout) as object;
    const file = join(dir, 'be-police.json');
    await writeFile(
      file,
      JSON.stringify({
        id: 'be-police',
        name: 'Belgian Federal Police',
        kind: 'police',
        jurisdictions: ['BE'],
        contact: { email: 'demo-be@police.example' },
        keys: [{ keyId: 'k1', publicJwk }],
      }),
    );
    const pidBefore = hub.serverPid;
    const added = await mosaic([
      'agency',
      'add',
      '--context',
      operator,
      '--file',
      file,
      '--reason',
      'test',
    ]);
    expect(added.code, added.stderr).toBe(0);
    expect(JSON.parse(added.stdout)).toMatchObject({ added: 'be-police' });

    const context = join(hub.contextsDir, 'be-police.json');
    expect(JSON.parse(added.stdout)).toMatchObject({ context });
    expect((await stat(context)).mode & 0o777).toBe(0o600);
    await using agency = await connectAgency({
      context,
      key: join(dir, 'be-police.k1.private.jwk'),
    });
    // Ready when the command returns: its alerts consumer exists, so subscribe works at once.
    const none = await agency.subscribe(() => undefined);
    expect(none).toMatchObject({ delivered: 0, stopped: 'drained' });
    const reply = await agency.publish(await freshReport('be-police', 'BE'));
    expect(reply, JSON.stringify(reply)).toMatchObject({ ok: true, duplicate: false });
    expect(hub.serverPid).toBe(pidBefore);

    const again = await mosaic([
      'agency',
      'add',
      '--context',
      operator,
      '--file',
      file,
      '--reason',
      'test',
    ]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/ERR_FEDERATION.*\n.*already exists/);
  });

  it('keys rotate: a report signed with the new key is accepted; old keys get notAfter', async () => {
    const keys = await mosaic([
      'keys',
      'generate',
      '--agency',
      'nl-police',
      '--key-id',
      'k2',
      '--out',
      dir,
    ]);
    expect(keys.code, keys.stderr).toBe(0);
    const rotated = await mosaic([
      'keys',
      'rotate',
      '--context',
      operator,
      '--agency',
      'nl-police',
      '--public-key',
      join(dir, 'nl-police.k2.public.jwk'),
      '--retire-old-at',
      '2030-01-01T00:00:00Z',
      '--reason',
      'test',
    ]);
    expect(rotated.code, rotated.stderr).toBe(0);
    const out = JSON.parse(rotated.stdout) as {
      keyId: string;
      retired: string[];
      revision: number;
    };
    expect(out).toMatchObject({ keyId: 'k2', retired: ['demo'] });
    await applied(out.revision);

    await using agency = await connectAgency({
      context: join(hub.contextsDir, 'nl-police.json'),
      key: join(dir, 'nl-police.k2.private.jwk'),
    });
    const reply = await agency.publish(await freshReport('nl-police', 'NL'));
    expect(reply, JSON.stringify(reply)).toMatchObject({ ok: true });
    const show = await mosaic(['agency', 'show', '--context', operator, 'nl-police']);
    expect(JSON.parse(show.stdout)).toMatchObject({
      keys: [{ keyId: 'demo', notAfter: '2030-01-01T00:00:00Z' }, { keyId: 'k2' }],
    });
  });

  it('keys rotate --retire-old-at now: a backdated report with the old key is refused; replay --verify still verifies the earlier one', async () => {
    await using agency = await connectAgency({
      context: join(hub.contextsDir, 'de-bka.json'),
      key: join(hub.keysDir, 'de-bka.jwk'),
    });
    const before = await agency.publish(await freshReport('de-bka', 'DE'));
    expect(before, JSON.stringify(before)).toMatchObject({ ok: true });
    const seq = before.ok ? before.seq : 0;
    const generated = await mosaic([
      'keys',
      'generate',
      '--agency',
      'de-bka',
      '--key-id',
      'k2',
      '--out',
      dir,
    ]);
    expect(generated.code, generated.stderr).toBe(0);
    const rotated = await mosaic([
      'keys',
      'rotate',
      '--context',
      operator,
      '--agency',
      'de-bka',
      '--public-key',
      join(dir, 'de-bka.k2.public.jwk'),
      '--retire-old-at',
      'now',
      '--reason',
      'laptop lost',
    ]);
    expect(rotated.code, rotated.stderr).toBe(0);
    await applied((JSON.parse(rotated.stdout) as { revision: number }).revision);

    // The holder of the retired key dates a new report back into the key's window.
    const backdated = JSON.parse(
      new TextDecoder().decode(await freshReport('de-bka', 'DE')),
    ) as Record<string, unknown>;
    backdated['issuedAt'] = new Date(Date.now() - 3_600_000)
      .toISOString()
      .replace(/\.\d{3}Z$/, 'Z');
    expect(await agency.publish(backdated)).toMatchObject({
      ok: false,
      code: 'ERR_KEY_NOT_VALID',
    });

    const replay = await mosaic([
      'replay',
      '--context',
      operator,
      '--stream',
      'reports',
      '--from-seq',
      String(seq),
      '--to-seq',
      String(seq),
      '--verify',
      '--reason',
      'test',
    ]);
    expect(replay.code, replay.stderr).toBe(0);
    expect(JSON.parse(replay.stdout)).toMatchObject({ seq, verified: true });
  });

  it('keys revoke: the next report is ERR_KEY_REVOKED; the stored one still verifies', async () => {
    await using agency = await connectAgency({
      context: join(hub.contextsDir, 'ro-dicot.json'),
      key: join(hub.keysDir, 'ro-dicot.jwk'),
    });
    const before = await agency.publish(await freshReport('ro-dicot', 'RO'));
    expect(before, JSON.stringify(before)).toMatchObject({ ok: true });
    const seq = before.ok ? before.seq : 0;

    const revoked = await mosaic([
      'keys',
      'revoke',
      '--context',
      operator,
      '--agency',
      'ro-dicot',
      '--key-id',
      'demo',
      '--reason',
      'laptop stolen',
    ]);
    expect(revoked.code, revoked.stderr).toBe(0);
    const out = JSON.parse(revoked.stdout) as { revokedAt: string; revision: number };
    await applied(out.revision);

    const after = await agency.publish(await freshReport('ro-dicot', 'RO'));
    expect(after).toMatchObject({ ok: false, code: 'ERR_KEY_REVOKED' });

    // The report accepted before: re-verified with the archived key and the stored time.
    await using nc = await connect(contextConnectOptions(await readContextFile(operator)));
    const jsm = await jetstreamManager(nc, { apiPrefix: HUB_API_PREFIX, checkAPI: false });
    const stored = await jsm.streams.getMessage(Streams.Reports, { seq });
    const jws = stored?.string() ?? '';
    expect(stored!.time.getTime()).toBeLessThan(Date.parse(out.revokedAt));
    await expect(verifyReport(jws, hub.registry)).rejects.toMatchObject({
      code: 'ERR_KEY_REVOKED',
    });
    const verified = await verifyReport(jws, hub.registry, { acceptRevokedBefore: stored!.time });
    expect(verified.agency).toBe('ro-dicot');
    const show = await mosaic(['agency', 'show', '--context', operator, 'ro-dicot']);
    expect(JSON.parse(show.stdout)).toMatchObject({
      keys: [{ keyId: 'demo', revokedAt: out.revokedAt, revocationReason: 'laptop stolen' }],
    });

    const unknown = await mosaic([
      'keys',
      'revoke',
      '--context',
      operator,
      '--agency',
      'ro-dicot',
      '--key-id',
      'nope',
      '--reason',
      'x',
    ]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/ERR_KEY_UNKNOWN/);
  });

  it('refuses operator commands with an agency context: the broker says no (exit 3)', async () => {
    const agencyContext = join(hub.contextsDir, 'de-bka.json');
    for (const argv of [
      ['agency', 'list', '--context', agencyContext],
      [
        'keys',
        'revoke',
        '--context',
        agencyContext,
        '--agency',
        'nl-police',
        '--key-id',
        'k2',
        '--reason',
        'x',
      ],
    ]) {
      const res = await mosaic(argv);
      expect(res.code, res.stderr).toBe(3);
      expect(res.stderr).toMatch(
        /^error ERR_PERMISSION_DENIED: the broker refused this to agency de-bka's identity/,
      );
      expect(res.stderr).toMatch(/contexts\/operator\.json/);
    }
    // Nothing was changed.
    const show = await mosaic(['agency', 'show', '--context', operator, 'nl-police']);
    const { keys } = JSON.parse(show.stdout) as { keys: { revokedAt?: string }[] };
    expect(keys.map((k) => k.revokedAt)).toEqual([undefined, undefined]);
  });
});

describe('mosaic dev --demo on a terminal', () => {
  it('logs one readable line per record (no JSON) and keeps the demo lines apart on stdout', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'mosaic-dev-tty-'));
    const pending = mosaic(['dev', '--demo', '--data-dir', dataDir, '--port', '0'], '', {
      tty: true,
      until: (out) => out.includes('mosaic demo: done'),
    });
    try {
      const res = await pending;
      expect(res.code, res.stderr).toBe(0);
      expect(res.stdout).toMatch(/^mosaic: hub ready nats:/);
      expect(res.stdout).toMatch(/accepted {2}seq \d+/);
      expect(res.stdout).toContain('mosaic demo: done');
      const ansi = new RegExp(`${String.fromCharCode(27)}\\[[\\d;]*m`, 'g');
      const logLines = res.stderr.split('\n').filter((l) => l.trim() !== '');
      expect(logLines.length).toBeGreaterThan(0);
      for (const line of logLines) {
        expect(line).not.toMatch(/^\s*\{"level"/);
        // One record, one line: pino-pretty's multi-line form indents each field.
        expect(line.replace(ansi, '')).toMatch(/^\[?\d{2}:\d{2}:\d{2}/);
      }
      expect(res.stderr).not.toMatch(/DEBUG|TRACE/);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
