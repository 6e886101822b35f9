/**
 * Private holdings and hit/no-hit checks through a real hub (demo federation: nl-police names
 * itself to de-bka, ro-dicot to nl-police and de-bka, ngo-lastrada to nobody).
 */
import { join } from 'node:path';
import { ErrorCode } from '@mosaic/errors';
import { connectOperator, type OperatorSession } from '@mosaic/operator';
import { Streams, readStream, holdingsSubject } from '@mosaic/protocol';
import {
  checkSelectors,
  registerHoldings,
  withdrawHoldings,
  connectAgency,
  type AgencyClient,
  type HitNotice,
} from '@mosaic/sdk';
import { canonicalSelector, type Selector } from '@mosaic/selectors';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHub, type Hub } from '../src/index.ts';
import { quietLog, tempDir } from './helpers.ts';

const AGENCIES = ['nl-police', 'de-bka', 'ro-dicot', 'ngo-lastrada'] as const;
type Agency = (typeof AGENCIES)[number];

const phone = canonicalSelector('phone', { number: '+40 723 456 789' });
const phoneAsWritten = canonicalSelector('phone', { number: '0723 456 789', country: 'RO' });
const iban = canonicalSelector('iban', 'RO49 AAAA 1B31 0075 9384 0000');
const email = canonicalSelector('email', 'Recruiter.Jobs@Example.org');
const unknownPhone = canonicalSelector('phone', { number: '+31 6 1234 5678' });

interface AuditEntry {
  action: string;
  actor: { kind: string; id: string };
  recipients?: { agency: string; reason?: unknown }[];
  refs?: { stream: string; seq: number }[];
  details?: Record<string, unknown>;
}

describe('private holdings and hit/no-hit (one hub)', () => {
  let dir: AsyncDisposable & { path: string };
  let hub: Hub;
  let op: OperatorSession;
  const agencies = new Map<Agency, AgencyClient>();
  const nc = (agency: Agency) => {
    const client = agencies.get(agency);
    if (client === undefined) throw new Error(`no client for ${agency}`);
    return client.connection;
  };
  const hitsOf = async (agency: Agency): Promise<HitNotice[]> => {
    const hits: HitNotice[] = [];
    const client = agencies.get(agency);
    if (client === undefined) throw new Error(`no client for ${agency}`);
    await client.subscribe(() => undefined, { onHit: (hit) => void hits.push(hit) });
    return hits;
  };
  const audit = async (action: string): Promise<AuditEntry[]> => {
    const out: AuditEntry[] = [];
    for await (const m of readStream(op.jsm, Streams.Audit))
      out.push(JSON.parse(new TextDecoder().decode(m.data)) as AuditEntry);
    return out.filter((e) => e.action === action);
  };

  beforeAll(async () => {
    dir = await tempDir();
    hub = await startHub({
      dataDir: dir.path,
      port: 0,
      log: quietLog,
      checkpointEvery: { entries: 100_000, seconds: 3_600 },
    });
    for (const agency of AGENCIES)
      agencies.set(
        agency,
        await connectAgency({ context: join(hub.contextsDir, `${agency}.json`) }),
      );
    op = await connectOperator(join(hub.contextsDir, 'operator.json'));
  }, 120_000);

  afterAll(async () => {
    for (const client of agencies.values()) await client.close();
    await op?.close();
    await hub?.stop();
    await dir?.[Symbol.asyncDispose]();
  });

  it('names a holder only as its hit policy allows, notifies every holder, never reports own holdings', async () => {
    await registerHoldings(nc('ro-dicot'), 'ro-dicot', [
      { selector: phone, reference: 'ro-case-1' },
      { selector: iban, reference: 'ro-case-2' },
    ]);
    await registerHoldings(nc('nl-police'), 'nl-police', [{ selector: phone, reference: 'nl-77' }]);
    await registerHoldings(nc('ngo-lastrada'), 'ngo-lastrada', [
      { selector: phone, reference: 'ls-3' },
    ]);

    const byBka = await checkSelectors(nc('de-bka'), 'de-bka', [phoneAsWritten, email]);
    expect(phoneAsWritten).toBe(phone);
    expect(byBka.results.get(phone)).toEqual({
      hit: true,
      holders: ['nl-police', 'ro-dicot'],
      othersNotified: true,
    });
    expect(byBka.results.get(email)).toEqual({ hit: false });

    // ro-dicot's own IBAN is no hit for ro-dicot; the phone names nobody to it (nl-police
    // names itself to de-bka only, ngo-lastrada to nobody), yet both holders are notified.
    const byRo = await checkSelectors(nc('ro-dicot'), 'ro-dicot', [iban, phone]);
    expect(byRo.results.get(iban)).toEqual({ hit: false });
    expect(byRo.results.get(phone)).toEqual({ hit: true, holders: [], othersNotified: true });

    const roHits = await hitsOf('ro-dicot');
    expect(roHits.map((h) => [h.asker, h.holdings])).toEqual([
      ['de-bka', [{ kind: 'phone', reference: 'ro-case-1', named: true }]],
    ]);
    const ngoHits = await hitsOf('ngo-lastrada');
    expect(ngoHits.map((h) => [h.asker, h.holdings])).toEqual([
      ['de-bka', [{ kind: 'phone', reference: 'ls-3', named: false }]],
      ['ro-dicot', [{ kind: 'phone', reference: 'ls-3', named: false }]],
    ]);
    const nlHits = await hitsOf('nl-police');
    expect(nlHits.map((h) => [h.asker, h.holdings[0]?.named])).toEqual([
      ['de-bka', true],
      ['ro-dicot', false],
    ]);
    expect(await hitsOf('de-bka')).toEqual([]);

    const checked = await audit('holdings.checked');
    expect(checked.map((e) => [e.actor.id, e.details?.['count'], e.details?.['hits']])).toEqual([
      ['de-bka', 2, 1],
      ['ro-dicot', 2, 1],
    ]);
    const hits = await audit('holdings.hit');
    expect(hits.map((e) => [e.actor.id, e.recipients?.[0]?.agency])).toEqual(
      expect.arrayContaining([
        ['de-bka', 'ro-dicot'],
        ['de-bka', 'nl-police'],
        ['de-bka', 'ngo-lastrada'],
        ['ro-dicot', 'nl-police'],
        ['ro-dicot', 'ngo-lastrada'],
      ]),
    );
    expect(hits).toHaveLength(5);
    for (const e of hits) expect(e.refs?.[0]?.stream).toBe(Streams.Alerts);
    const registered = await audit('holdings.registered');
    expect(registered.map((e) => [e.actor.id, e.details?.['count']])).toEqual([
      ['ro-dicot', 2],
      ['nl-police', 1],
      ['ngo-lastrada', 1],
    ]);
  });

  it('withdraws holdings one by one, by replacement and all at once', async () => {
    expect(await withdrawHoldings(nc('ro-dicot'), 'ro-dicot', [phone])).toEqual({ withdrawn: 1 });
    const after = await checkSelectors(nc('de-bka'), 'de-bka', [phone, iban]);
    expect(after.results.get(phone)).toEqual({
      hit: true,
      holders: ['nl-police'],
      othersNotified: true,
    });
    expect(after.results.get(iban)).toEqual({
      hit: true,
      holders: ['ro-dicot'],
      othersNotified: false,
    });

    // nl-police now holds only the unknown number: its phone holding is gone.
    expect(
      await registerHoldings(
        nc('nl-police'),
        'nl-police',
        [{ selector: unknownPhone, reference: 'nl-78' }],
        { replace: true },
      ),
    ).toEqual({ registered: 1, withdrawn: 1 });
    expect(await withdrawHoldings(nc('ngo-lastrada'), 'ngo-lastrada', 'all')).toEqual({
      withdrawn: 1,
    });
    const last = await checkSelectors(nc('de-bka'), 'de-bka', [phone, unknownPhone]);
    expect(last.results.get(phone)).toEqual({ hit: false });
    expect(last.results.get(unknownPhone)).toEqual({
      hit: true,
      holders: ['nl-police'],
      othersNotified: false,
    });
    expect(
      (await audit('holdings.withdrawn')).map((e) => [e.actor.id, e.details?.['count']]),
    ).toEqual([
      ['ro-dicot', 1],
      ['nl-police', 1],
      ['ngo-lastrada', 1],
    ]);
  });

  it('refuses a malformed request with ERR_SCHEMA and keeps serving', async () => {
    const msg = await nc('de-bka').request(
      holdingsSubject('de-bka'),
      JSON.stringify({ op: 'check', tokens: [{ kind: 'phone', token: 'not-a-token' }] }),
      { timeout: 10_000 },
    );
    expect(msg.json()).toMatchObject({ ok: false, code: ErrorCode.Schema });
    const again = await checkSelectors(nc('de-bka'), 'de-bka', [unknownPhone]);
    expect(again.results.get(unknownPhone)?.hit).toBe(true);
  });

  it('keeps the holdings across a restart of the hub', async () => {
    await hub.stop();
    for (const client of agencies.values()) await client.close();
    hub = await startHub({ dataDir: dir.path, log: quietLog });
    for (const agency of AGENCIES)
      agencies.set(
        agency,
        await connectAgency({ context: join(hub.contextsDir, `${agency}.json`) }),
      );
    await op.close();
    op = await connectOperator(join(hub.contextsDir, 'operator.json'));
    const selectors: Selector[] = [unknownPhone, iban, phone];
    const { results } = await checkSelectors(nc('de-bka'), 'de-bka', selectors);
    expect(selectors.map((s) => results.get(s)?.hit)).toEqual([true, true, false]);
  }, 120_000);
});
