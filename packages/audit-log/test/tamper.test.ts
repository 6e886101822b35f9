import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  formatCheckpoint,
  generateHubKey,
  hubJwks,
  hubKeysFromJwks,
  readAuditExport,
  signCheckpoint,
  verifyAuditLog,
  writeAuditExport,
  type HubKey,
  type HubPublicKey,
} from '../src/index.ts';
import { buildLog, defaultEntry, type BuiltLog } from './support/log.ts';

// 45 entries, checkpoints at 10, 20, 30, 40; entries 40..44 are covered by the chain only.
let dir: string;
let key: HubKey;
let keys: HubPublicKey[];
let built: BuiltLog;
let lines: string[];

interface Line {
  type: string;
  index?: number;
  seq?: number;
  data?: string;
  text?: string;
}
const parse = (l: string): Line => JSON.parse(l) as Line;
const entryLine = (ls: string[], index: number): number =>
  ls.findIndex((l) => parse(l).type === 'entry' && parse(l).index === index);

async function verifyLines(ls: string[]) {
  const path = join(dir, `t-${Math.random().toString(36).slice(2)}.ndjson`);
  await writeFile(path, `${ls.join('\n')}\n`);
  const exported = await readAuditExport(path);
  return verifyAuditLog(exported.entries, exported.checkpoints, keys);
}

function mapData(l: string, f: (text: string) => string): string {
  const r = parse(l);
  const text = Buffer.from(r.data!, 'base64').toString('utf8');
  return JSON.stringify({ ...r, data: Buffer.from(f(text), 'utf8').toString('base64') });
}

/** Renumbers index and seq in file order, as a careful forger would. */
function renumber(ls: string[]): string[] {
  let i = 0;
  return ls.map((l) => {
    const r = parse(l);
    if (r.type !== 'entry') return l;
    const out = JSON.stringify({ ...r, index: i, seq: i + 1 });
    i++;
    return out;
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'audit-log-'));
  key = await generateHubKey('mosaic-hub');
  keys = hubKeysFromJwks(hubJwks([key]));
  built = buildLog(key, 45, 10);
  const path = join(dir, 'audit.ndjson');
  expect(
    await writeAuditExport(path, { entries: built.items, checkpoints: built.checkpoints }),
  ).toEqual({
    entries: 45,
    checkpoints: 4,
  });
  lines = (await readFile(path, 'utf8')).trimEnd().split('\n');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the export file', () => {
  it('is a header, entries and each checkpoint after the entry completing its size', () => {
    expect(parse(lines[0]!)).toEqual({ type: 'export', format: 'mosaic-audit-export', version: 1 });
    expect(lines).toHaveLength(1 + 45 + 4);
    expect(parse(lines[11]!).type).toBe('checkpoint');
    expect(parse(lines[10]!)).toMatchObject({ type: 'entry', index: 9, seq: 10 });
  });

  it('verifies intact', async () => {
    const verdict = await verifyLines(lines);
    expect(verdict).toEqual({
      ok: true,
      entries: 45,
      checkpoints: 4,
      lastRoot: built.log.root(),
      uncheckpointed: 5,
    });
  });

  it('refuses a malformed line with its number', async () => {
    const path = join(dir, 'bad.ndjson');
    await writeFile(path, `${lines.slice(0, 3).join('\n')}\n{"type":"entry","index":1}\n`);
    await expect(readAuditExport(path)).rejects.toThrow(
      expect.objectContaining({ code: 'ERR_AUDIT_EXPORT', details: { line: 4 } }),
    );
  });
});

describe('tamper drills on an export file (exact index)', () => {
  it('delete one entry', async () => {
    const ls = lines.slice();
    ls.splice(entryLine(ls, 13), 1);
    expect(await verifyLines(ls)).toMatchObject({ ok: false, problem: 'gap', index: 13 });
    // The forger renumbers the following entries: the chain and checkpoint 20 still name 13.
    expect(await verifyLines(renumber(ls))).toMatchObject({ ok: false, problem: 'gap', index: 13 });
    // Deleting the last entry before a checkpoint.
    const ls2 = lines.slice();
    ls2.splice(entryLine(ls2, 19), 1);
    expect(await verifyLines(renumber(ls2))).toMatchObject({
      ok: false,
      problem: 'gap',
      index: 19,
    });
  });

  it('change one byte', async () => {
    const content = lines.slice();
    const at = entryLine(content, 13);
    content[at] = mapData(content[at]!, (t) => t.replace('report-13', 'report-93'));
    expect(await verifyLines(content)).toMatchObject({ ok: false, problem: 'altered', index: 13 });

    const syntax = lines.slice();
    syntax[at] = mapData(syntax[at]!, (t) => t.replace('{', '['));
    expect(await verifyLines(syntax)).toMatchObject({ ok: false, problem: 'decode', index: 13 });

    const prev = lines.slice();
    prev[at] = mapData(prev[at]!, (t) =>
      t.replace(/"prev":"(.)/, (_, c: string) => `"prev":"${c === 'a' ? 'b' : 'a'}`),
    );
    expect(await verifyLines(prev)).toMatchObject({ ok: false, problem: 'altered', index: 13 });

    // The last entry before checkpoint 20, and the last entry of the whole log.
    for (const index of [19, 44]) {
      const ls = lines.slice();
      const i = entryLine(ls, index);
      ls[i] = mapData(ls[i]!, (t) => t.replace('nca-uk', 'nca-us'));
      const verdict = await verifyLines(ls);
      if (index === 19) expect(verdict).toMatchObject({ ok: false, problem: 'altered', index: 19 });
      // Nothing after entry 44 and no checkpoint covers it: the change cannot be seen.
      else expect(verdict).toMatchObject({ ok: true });
    }

    // Entry 39, the last one checkpoint 40 covers, in a log that ends there.
    const cut = lines.slice(0, entryLine(lines, 40));
    const j = entryLine(cut, 39);
    cut[j] = mapData(cut[j]!, (t) => t.replace('nca-uk', 'nca-us'));
    expect(await verifyLines(cut)).toMatchObject({
      ok: false,
      problem: 'checkpoint-root-mismatch',
      index: 30,
      checkpoint: 3,
    });
  });

  it('swap two entries', async () => {
    const ls = lines.slice();
    const a = entryLine(ls, 13);
    const b = entryLine(ls, 17);
    [ls[a], ls[b]] = [ls[b]!, ls[a]!];
    expect(await verifyLines(ls)).toMatchObject({ ok: false, problem: 'reordered', index: 13 });
    expect(await verifyLines(renumber(ls))).toMatchObject({
      ok: false,
      problem: 'reordered',
      index: 13,
    });

    const adj = lines.slice();
    const c = entryLine(adj, 21);
    [adj[c], adj[c + 1]] = [adj[c + 1]!, adj[c]!];
    expect(await verifyLines(adj)).toMatchObject({ ok: false, problem: 'reordered', index: 21 });
    expect(await verifyLines(renumber(adj))).toMatchObject({
      ok: false,
      problem: 'reordered',
      index: 21,
    });
  });

  it('duplicate an entry', async () => {
    const ls = lines.slice();
    ls.splice(entryLine(ls, 15), 0, ls[entryLine(ls, 12)]!);
    expect(await verifyLines(ls)).toMatchObject({ ok: false, problem: 'duplicate', index: 15 });
    expect(await verifyLines(renumber(ls))).toMatchObject({
      ok: false,
      problem: 'duplicate',
      index: 15,
    });
  });

  it('truncate the tail after a checkpoint', async () => {
    // The checkpoints survive (the checkpoint stream, the published copies): only entries go.
    const ls = lines.filter((l) => parse(l).type !== 'entry' || parse(l).index! < 36);
    expect(await verifyLines(ls)).toMatchObject({
      ok: false,
      problem: 'truncated',
      index: 36,
      checkpoint: 3,
    });
    // Every entry gone but the checkpoints kept.
    expect(await verifyLines(lines.filter((l) => parse(l).type !== 'entry'))).toMatchObject({
      ok: false,
      problem: 'truncated',
      index: 0,
    });
  });

  it('two different histories for the same tree size', async () => {
    // The hub (or a thief of its key) signs a second history that forks at entry 20.
    const other = buildLog(key, 30, 10, (i) =>
      i < 20 ? defaultEntry(i) : { ...defaultEntry(i), actor: { kind: 'service', id: 'forger' } },
    );
    expect(other.checkpoints[1]).toBe(built.checkpoints[1]);
    // Its checkpoint for size 30 presented beside the real one.
    const both = lines.slice();
    both.splice(
      both.indexOf(JSON.stringify({ type: 'checkpoint', text: built.checkpoints[2] })) + 1,
      0,
      JSON.stringify({ type: 'checkpoint', text: other.checkpoints[2] }),
    );
    expect(await verifyLines(both)).toMatchObject({
      ok: false,
      problem: 'fork',
      index: 3,
      checkpoint: 3,
    });

    // A forked export: the other history's entries under the real checkpoints.
    const forked = lines.slice();
    for (let i = 20; i < 30; i++)
      forked[entryLine(forked, i)] = JSON.stringify({
        type: 'entry',
        index: i,
        seq: i + 1,
        data: Buffer.from(other.items[i]!.data).toString('base64'),
      });
    expect(await verifyLines(forked)).toMatchObject({
      ok: false,
      problem: 'checkpoint-root-mismatch',
      index: 20,
      checkpoint: 2,
    });
  });

  it('a checkpoint not signed by the hub, or out of order', async () => {
    const stranger = await generateHubKey('mosaic-hub');
    const ls = lines.slice();
    const at = ls.indexOf(JSON.stringify({ type: 'checkpoint', text: built.checkpoints[1] }));
    ls[at] = JSON.stringify({
      type: 'checkpoint',
      text: signCheckpoint(
        formatCheckpoint({ origin: 'mosaic-hub', size: 20, root: built.log.root(20) }),
        stranger,
      ),
    });
    expect(await verifyLines(ls)).toMatchObject({
      ok: false,
      problem: 'checkpoint-signature',
      index: 1,
    });
    const swapped = lines.slice();
    const c1 = swapped.indexOf(JSON.stringify({ type: 'checkpoint', text: built.checkpoints[1] }));
    const c2 = swapped.indexOf(JSON.stringify({ type: 'checkpoint', text: built.checkpoints[2] }));
    [swapped[c1], swapped[c2]] = [swapped[c2]!, swapped[c1]!];
    expect(await verifyLines(swapped)).toMatchObject({
      ok: false,
      problem: 'checkpoint-order',
      index: 2,
    });
  });
});

describe('verifyAuditLog on live-stream shaped input', () => {
  it('names a deleted stream message by its index (sequence gap)', async () => {
    const items = built.items.filter((it) => it.index !== 7);
    async function* stream() {
      for (const it of items) yield await Promise.resolve(it);
    }
    expect(await verifyAuditLog(stream(), built.checkpoints, keys)).toMatchObject({
      ok: false,
      problem: 'gap',
      index: 7,
    });
  });

  it('starts from a checkpoint and reports progress', async () => {
    const seen: number[] = [];
    const verdict = await verifyAuditLog(built.items, built.checkpoints, keys, {
      fromCheckpoint: 2,
      progressEvery: 10,
      onProgress: (p) => seen.push(p.entries),
    });
    expect(verdict).toMatchObject({ ok: true, entries: 45, checkpoints: 2 });
    expect(seen).toEqual([10, 20, 30, 40, 45]);
    await expect(
      verifyAuditLog(built.items, built.checkpoints, keys, { fromCheckpoint: 9 }),
    ).rejects.toThrow(expect.objectContaining({ code: 'ERR_USAGE' }));
  });
});
