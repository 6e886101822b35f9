import { execFile } from 'node:child_process';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { HUB_NODE_FLAGS, ServeServices } from '@mosaic/hub';
import { ensureNatsServer } from '@mosaic/nats-server';
import { commands } from '../src/index.ts';

const systemdDir = fileURLToPath(new URL('../../../deploy/systemd/', import.meta.url));
const deployDir = fileURLToPath(new URL('../../../deploy/cluster/', import.meta.url));

/** The `[Service]` settings of a unit file (the last value of each key). */
function serviceSection(text: string): Map<string, string> {
  const settings = new Map<string, string>();
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const header = /^\[(\w+)\]$/.exec(line);
    if (header?.[1] !== undefined) section = header[1];
    else if (section === 'Service') {
      const at = line.indexOf('=');
      settings.set(line.slice(0, at), line.slice(at + 1));
    }
  }
  return settings;
}

/** `--name value` pairs of a command line after the command words. */
function options(words: readonly string[]): Map<string, string> {
  const found = new Map<string, string>();
  for (let i = 0; i < words.length; i++) {
    const word = words[i] ?? '';
    if (!word.startsWith('--')) throw new Error(`unexpected argument ${word}`);
    found.set(word.slice(2), words[i + 1] ?? '');
    i++;
  }
  return found;
}

describe('deploy/systemd', () => {
  it('each mosaic unit runs mosaic serve with options it has, one unit template per service role', async () => {
    const units = (await readdir(systemdDir)).filter((f) => /^mosaic-[\w-]+@\.service$/.test(f));
    const roles = units.map((u) => /^mosaic-([\w-]+)@/.exec(u)?.[1]).filter((r) => r !== 'nats');
    expect(roles.sort()).toEqual([...ServeServices].sort());
    for (const role of roles) {
      const service = serviceSection(
        await readFile(join(systemdDir, `mosaic-${role ?? ''}@.service`), 'utf8'),
      );
      const all = (service.get('ExecStart') ?? '').split(/\s+/);
      // node with a hub process's V8 settings, then the mosaic command.
      expect(all.slice(0, 2 + HUB_NODE_FLAGS.length)).toEqual([
        '/usr/bin/env',
        'node',
        ...HUB_NODE_FLAGS,
      ]);
      const words = all.slice(2 + HUB_NODE_FLAGS.length);
      expect(words[0]).toMatch(/\/mosaic$/);
      const command = commands.find((c) => c.path.every((w, i) => words[1 + i] === w));
      expect(command?.path, `${role ?? ''}: ${words.join(' ')}`).toEqual(['serve']);
      const given = options(words.slice(1 + (command?.path.length ?? 0)));
      for (const name of given.keys())
        expect(Object.keys(command?.options ?? {}), `--${name}`).toContain(name);
      expect(given.get('only')).toBe(role);
      expect(given.get('http-port')).toBe('%i');
      expect(given.get('config')).toMatch(/\/hub\.yaml$/);
      // SIGTERM is what mosaic serve drains on.
      expect(service.get('KillSignal')).toBe('SIGTERM');
      expect(command?.help).toContain('SIGTERM');
    }
  });

  it('the NATS unit starts a node of deploy/cluster with an option nats-server has, and stops it in lame duck mode', async () => {
    const service = serviceSection(
      await readFile(join(systemdDir, 'mosaic-nats@.service'), 'utf8'),
    );
    const words = (service.get('ExecStart') ?? '').split(/\s+/);
    expect(words[0]).toMatch(/\/nats-server$/);
    expect(words[1]).toBe('-c');
    expect(words[2]).toMatch(/\/nodes\/%i\/nats-server\.conf$/);
    for (const node of await readdir(join(deployDir, 'nodes')))
      expect(await readFile(join(deployDir, 'nodes', node, 'nats-server.conf'), 'utf8')).toContain(
        `server_name: "${node}"`,
      );
    const binary = (await ensureNatsServer()).path;
    const help = await new Promise<string>((resolve, reject) => {
      execFile(binary, ['--help'], (err, stdout, stderr) => {
        if (err !== null && typeof err.code !== 'number')
          reject(new Error('nats-server did not run', { cause: err }));
        else resolve(`${stdout}${stderr}`);
      });
    });
    expect(help).toMatch(/-c, --config <file>/);
    // nats-server enters lame duck mode on SIGUSR2.
    expect(service.get('KillSignal')).toBe('SIGUSR2');
    expect(help).toMatch(/ldm/);
  });
});
