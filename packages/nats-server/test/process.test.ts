import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { canConnect, ensureNatsServer, httpGet, startNatsServerProcess } from '../src/index.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mosaic-process-test-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function config(extra: string): string {
  return [
    'host: "127.0.0.1"',
    'port: -1',
    'http_port: -1',
    `ports_file_dir: ${JSON.stringify(dir)}`,
    `jetstream { store_dir: ${JSON.stringify(join(dir, 'js'))} }`,
    extra,
    '',
  ].join('\n');
}

async function maxPayload(httpPort: number | undefined): Promise<number> {
  const varz = await httpGet(`http://127.0.0.1:${String(httpPort)}/varz`);
  return (JSON.parse(varz?.body ?? '{}') as { max_payload: number }).max_payload;
}

describe('startNatsServerProcess', () => {
  it('starts, reloads on SIGHUP, refuses a bad reload, stops with nothing left', async () => {
    const { path } = await ensureNatsServer();
    const configFile = join(dir, 'nats.conf');
    await writeFile(configFile, config('max_payload: 1MB'));
    const spawned: number[] = [];
    let pid = 0;
    {
      await using server = await startNatsServerProcess({
        binary: path,
        configFile,
        portsFileDir: dir,
        monitoring: true,
        onSpawn: (child) => spawned.push(child.pid ?? 0),
      });
      pid = server.pid;
      expect(spawned).toEqual([pid]);
      expect(server.url).toBe(`nats://127.0.0.1:${server.ports.port}`);
      expect(await canConnect(server.ports.port)).toBe(true);
      expect(await maxPayload(server.ports.httpPort)).toBe(1024 * 1024);

      // The ports stay as they were at start (-1): a reload compares with those.
      await writeFile(configFile, config('max_payload: 2MB'));
      await server.reload();
      expect(await maxPayload(server.ports.httpPort)).toBe(2 * 1024 * 1024);

      await writeFile(configFile, 'this is { not valid');
      await expect(server.reload()).rejects.toMatchObject({ code: 'ERR_NATS_SERVER_START' });
      expect(server.running).toBe(true);
      expect(server.logs()).toMatch(/Reloaded server configuration/);
    }
    expect(() => process.kill(pid, 0)).toThrow(expect.objectContaining({ code: 'ESRCH' }));
  });

  it('fails with ERR_NATS_SERVER_START and the log when the server exits at start-up', async () => {
    const { path } = await ensureNatsServer();
    const configFile = join(dir, 'nats.conf');
    await writeFile(configFile, config('no_such_option { x: 1 }'));
    const err = await startNatsServerProcess({ binary: path, configFile, portsFileDir: dir }).catch(
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'ERR_NATS_SERVER_START' });
    expect((err as { details: { stderr: string } }).details.stderr).not.toBe('');
  });
});
