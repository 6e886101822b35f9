/**
 * mosaic selectors register|check|withdraw and the holder's hit alert in mosaic subscribe,
 * through a real hub; then every file of the hub's data dir (the nats-server store with all
 * streams and buckets included) is scanned for the raw selectors in every encoding the
 * project uses: none may be there.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHub, type Hub } from '@mosaic/hub';
import { createLogger } from '@mosaic/log';
import { canonicalSelector } from '@mosaic/selectors';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mosaic } from './helpers.ts';

/** The selectors of the test as written in the files, with their canonical forms. */
const WRITTEN = {
  phone: '+40 (723) 456-789',
  phoneAgain: 'RO:0723 456 789',
  iban: 'ro49 aaaa 1b31 0075 9384 0000',
  email: 'Recruiter.Jobs@Example.org',
  document: 'NG:a0987-6543',
};
const CANONICAL = [
  canonicalSelector('phone', WRITTEN.phone),
  canonicalSelector('iban', WRITTEN.iban),
  canonicalSelector('email', WRITTEN.email),
  canonicalSelector('document', { issuingCountry: 'NG', number: 'a0987-6543' }),
];

/** Every way the project encodes bytes, each at every base64 alignment. */
function needles(value: string): Buffer[] {
  const raw = Buffer.from(value, 'utf8');
  const out = [
    raw,
    Buffer.from(raw.toString('hex')),
    Buffer.from(raw.toString('hex').toUpperCase()),
  ];
  for (const shift of [0, 1, 2]) {
    const shifted = Buffer.concat([Buffer.alloc(shift), raw]);
    for (const enc of ['base64', 'base64url'] as const) {
      // Drop the characters the shift and the end touch: what remains appears whatever
      // surrounds the value in a longer encoded buffer.
      const text = shifted.toString(enc).replace(/=+$/, '');
      const skip = Math.ceil((shift * 4) / 3);
      out.push(Buffer.from(text.slice(skip, text.length - 2)));
    }
  }
  return out;
}

async function files(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true }))
    if (entry.isFile()) out.push(join(entry.parentPath, entry.name));
  return out;
}

/** Which of `values` (in any encoding) occur in which file under `dir`. */
async function scan(dir: string, values: readonly string[]): Promise<string[]> {
  const found: string[] = [];
  for (const file of await files(dir)) {
    const bytes = await readFile(file);
    for (const value of values)
      if (needles(value).some((n) => bytes.includes(n))) found.push(`${file}: ${value}`);
  }
  return found;
}

describe('mosaic selectors (one hub)', () => {
  let data: string;
  let work: string;
  let hub: Hub | undefined;
  const ctx = (agency: string) => join(data, 'contexts', `${agency}.json`);

  beforeAll(async () => {
    data = await mkdtemp(join(tmpdir(), 'mosaic-selectors-hub-'));
    work = await mkdtemp(join(tmpdir(), 'mosaic-selectors-files-'));
    hub = await startHub({
      dataDir: data,
      port: 0,
      log: createLogger({ service: 'hub', level: 'silent' }),
      checkpointEvery: { entries: 100_000, seconds: 3_600 },
    });
  }, 120_000);

  afterAll(async () => {
    await hub?.stop();
    await rm(data, { recursive: true, force: true });
    await rm(work, { recursive: true, force: true });
  });

  it('registers holdings, answers checks hit or no-hit, alerts the holder, withdraws', async () => {
    const holdings = join(work, 'holdings.csv');
    await writeFile(
      holdings,
      `type,value,reference\n# ro-dicot's own cases\nphone,"${WRITTEN.phone}",ro-case-1\niban,${WRITTEN.iban},ro-case-2\ndocument,${WRITTEN.document},ro-case-3\n`,
    );
    const registered = await mosaic([
      'selectors',
      'register',
      '--context',
      ctx('ro-dicot'),
      '--file',
      holdings,
    ]);
    expect(registered.stderr).toBe('');
    expect(JSON.parse(registered.stdout)).toEqual({ ok: true, registered: 3, withdrawn: 0 });

    const selectors = join(work, 'selectors.csv');
    await writeFile(selectors, `phone,${WRITTEN.phoneAgain}\nemail,${WRITTEN.email}\n`);
    const checked = await mosaic([
      'selectors',
      'check',
      '--context',
      ctx('de-bka'),
      '--file',
      selectors,
    ]);
    expect(checked.code).toBe(0);
    expect(
      checked.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as unknown),
    ).toEqual([
      { line: 1, type: 'phone', result: 'hit', holders: ['ro-dicot'], othersNotified: false },
      { line: 2, type: 'email', result: 'no-hit' },
    ]);
    // ngo-lastrada is not named by ro-dicot's hit policy: told only that the holder knows.
    const byNgo = await mosaic([
      'selectors',
      'check',
      '--context',
      ctx('ngo-lastrada'),
      '--file',
      selectors,
    ]);
    expect(JSON.parse(byNgo.stdout.split('\n')[0] ?? '')).toEqual({
      line: 1,
      type: 'phone',
      result: 'hit',
      holders: [],
      othersNotified: true,
    });

    const alerts = await mosaic(['subscribe', '--context', ctx('ro-dicot')]);
    expect(alerts.code).toBe(0);
    const hits = alerts.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { kind: string; asker: string; holdings: unknown })
      .filter((a) => a.kind === 'hit');
    expect(hits.map((h) => [h.asker, h.holdings])).toEqual([
      ['de-bka', [{ kind: 'phone', reference: 'ro-case-1', named: true }]],
      ['ngo-lastrada', [{ kind: 'phone', reference: 'ro-case-1', named: false }]],
    ]);
    expect(alerts.stderr).toContain('2 hits');

    const withdrawn = await mosaic([
      'selectors',
      'withdraw',
      '--context',
      ctx('ro-dicot'),
      '--file',
      selectors,
    ]);
    expect(JSON.parse(withdrawn.stdout)).toEqual({ ok: true, withdrawn: 1 });
    const again = await mosaic([
      'selectors',
      'check',
      '--context',
      ctx('de-bka'),
      '--file',
      selectors,
    ]);
    expect(JSON.parse(again.stdout.split('\n')[0] ?? '')).toMatchObject({ result: 'no-hit' });
  }, 120_000);

  it('refuses a file with an unusable row, naming its line but not its value, and sends nothing', async () => {
    const bad = join(work, 'bad.csv');
    await writeFile(bad, `phone,+40 723 456 789,a\nphone,not-a-phone-0xdeadbeef,b\n`);
    const result = await mosaic([
      'selectors',
      'register',
      '--context',
      ctx('de-bka'),
      '--file',
      bad,
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('ERR_SELECTOR_INVALID');
    expect(result.stderr).toContain('line 2');
    expect(result.stderr).not.toContain('0xdeadbeef');
    const check = await mosaic([
      'selectors',
      'check',
      '--context',
      ctx('nl-police'),
      '--file',
      bad,
    ]);
    expect([check.code, check.stdout]).toEqual([1, '']);
  }, 120_000);

  it('leaves no registered or checked selector in any file of the store, in any encoding', async () => {
    await hub?.stop();
    hub = undefined;
    const values = [...Object.values(WRITTEN), ...CANONICAL];
    // The scanner finds them where they are: the CSV files written above.
    expect(await scan(work, values)).not.toEqual([]);
    expect((await files(join(data, 'jetstream'))).length).toBeGreaterThan(10);
    expect(await scan(data, values)).toEqual([]);
  }, 120_000);
});
