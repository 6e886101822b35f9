/**
 * The router's kept tokens: a selector an agency reports again is not sent to the key
 * service again and gets the token the key service gave it, while another agency's report
 * of the same selector is asked for as if it were new; kept tokens are used only while the
 * key service confirmed their epoch lately, and a rotated key makes every selector of the
 * batch again under the new epoch. Real nats-server, real key service (its evaluation
 * counted).
 */
import { auditClient, ensureSelectorIndexStream, SELECTOR_INDEX_STREAM } from '@mosaic/protocol';
import { startSelectorKeys } from '@mosaic/selector-keys';
import { evaluateBatch, generateOprfKeyPair } from '@mosaic/selectors';
import type { Service } from '@mosaic/service';
import { jetstream } from '@nats-io/jetstream';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  ReportIndexer,
  TOKEN_CACHE_CONFIRM_MS,
  type ReportTokens,
  type StoredReport,
} from '../src/selector-index.ts';
import { ISSUERS, report, startTestHub, type TestHub } from './support/hub.ts';

let hub: TestHub;
let keys: Service | undefined;
/** Every evaluation the key service made: its epoch, kind and number of elements. */
let evaluated: { epoch: number; kind: string; count: number }[] = [];
let seq = 0;
let clock = 0;

async function startKeys(epoch: number): Promise<void> {
  await keys?.stop();
  const nc = await hub.connectAs(hub.ids.services['selector-keys']);
  keys = await startSelectorKeys({
    nc,
    key: { epoch, ...generateOprfKeyPair() },
    accounts: { accountOf: () => undefined },
    audit: auditClient(nc, 'selector-keys'),
    evaluate: (secretKey, blinded, context) => {
      evaluated.push({ epoch: context.epoch, kind: context.kind, count: blinded.length });
      return evaluateBatch(secretKey, blinded, context);
    },
  });
}

/** What the indexers told their observer: per batch, kept and made. */
let observed: [number, number][] = [];

async function indexer(cacheEntries?: number): Promise<ReportIndexer> {
  const nc = await hub.connectAs(hub.ids.services.router);
  hub.stopOnDispose({ stop: () => nc.close() });
  return new ReportIndexer(nc, jetstream(nc), 10_000, {
    ...(cacheEntries === undefined ? {} : { cacheEntries }),
    now: () => clock,
    observe: (kept, made) => observed.push([kept, made]),
  });
}

/** A stored report of `issuer` with these indicators, at the next sequence. */
function stored(indicators: Record<string, string>[], issuer: string = ISSUERS[0]): StoredReport {
  return {
    report: report(issuer, { indicators }) as never,
    seq: ++seq,
    storedAt: new Date(),
  };
}

const phone = (n: number) => ({ type: 'phone', number: `+4072345${String(6000 + n)}` });
const email = (n: number) => ({ type: 'email', address: `recruiter${String(n)}@mail.example` });
const tokenOf = (tokens: ReportTokens | undefined, kind: string) =>
  tokens?.find((t) => t.kind === kind)?.token;

beforeAll(async () => {
  hub = await startTestHub();
  await ensureSelectorIndexStream(hub.jsm);
  await startKeys(1);
}, 60_000);
afterAll(async () => {
  await keys?.stop();
  await hub[Symbol.asyncDispose]();
});
beforeEach(() => {
  evaluated = [];
  observed = [];
});

describe('the tokens the router keeps', () => {
  it('sends a selector seen again to no one, and gives it the token the key service made', async () => {
    const cached = await indexer();
    const [first] = await cached.index([stored([phone(1), email(1)])]);
    expect(evaluated).toEqual([
      { epoch: 1, kind: 'phone', count: 1 },
      { epoch: 1, kind: 'email', count: 1 },
    ]);

    evaluated = [];
    const later = [stored([phone(1), email(2)]), stored([phone(1)])];
    const [second, third] = await cached.index(later);
    // Only the new e-mail address went to the key service.
    expect(evaluated).toEqual([{ epoch: 1, kind: 'email', count: 1 }]);
    expect(observed).toEqual([
      [0, 2],
      [1, 1],
    ]);
    expect(tokenOf(second, 'phone')).toBe(tokenOf(first, 'phone'));
    expect(tokenOf(third, 'phone')).toBe(tokenOf(first, 'phone'));

    // The same tokens as a router that keeps none makes, which asks for every selector.
    evaluated = [];
    const uncached = await indexer(0);
    expect(await uncached.index(later)).toEqual([second, third]);
    expect(evaluated).toEqual([
      { epoch: 1, kind: 'phone', count: 1 },
      { epoch: 1, kind: 'email', count: 1 },
    ]);

    // Another agency's report of the same selectors is asked for in full: what is kept for
    // one issuer never shortens another's (how soon its report is routed would tell it that
    // someone else reported the selector lately). Its tokens are the same.
    evaluated = [];
    const [other] = await cached.index([stored([phone(1), email(2)], ISSUERS[1])]);
    expect(evaluated).toEqual([
      { epoch: 1, kind: 'phone', count: 1 },
      { epoch: 1, kind: 'email', count: 1 },
    ]);
    expect(other).toEqual(second);
    // ... and is kept for that agency from then on.
    evaluated = [];
    await cached.index([stored([phone(1)], ISSUERS[1])]);
    expect(evaluated).toEqual([]);

    // In one batch, a selector kept for one issuer and new for another is asked for once.
    evaluated = [];
    observed = [];
    await cached.index([stored([phone(2)], ISSUERS[0])]);
    await cached.index([stored([phone(2)], ISSUERS[0]), stored([phone(2)], ISSUERS[2])]);
    expect(evaluated).toEqual([
      { epoch: 1, kind: 'phone', count: 1 },
      { epoch: 1, kind: 'phone', count: 1 },
    ]);
    expect(observed).toEqual([
      [0, 1],
      [0, 1],
    ]);
    evaluated = [];
    await cached.index([stored([phone(2)], ISSUERS[2])]);
    expect(evaluated).toEqual([]);

    // Every report's entry is in the index, cached token or not.
    const phoneToken = tokenOf(first, 'phone')!;
    const entries = await hub.jsm.streams.info(SELECTOR_INDEX_STREAM, {
      subjects_filter: `mosaic.index.${phoneToken}`,
    });
    expect(entries.state.subjects?.[`mosaic.index.${phoneToken}`]).toBe(5);
  });

  it('asks again for every selector once the key service has not confirmed the epoch for a while', async () => {
    const cached = await indexer();
    const report = () => stored([phone(3), email(3)]);
    await cached.index([report()]);
    expect(evaluated).toHaveLength(2);

    evaluated = [];
    clock += TOKEN_CACHE_CONFIRM_MS;
    await cached.index([report()]);
    expect(evaluated).toEqual([]);

    clock += 1;
    await cached.index([report()]);
    expect(evaluated).toEqual([
      { epoch: 1, kind: 'phone', count: 1 },
      { epoch: 1, kind: 'email', count: 1 },
    ]);
    // That answer confirmed the epoch again.
    evaluated = [];
    await cached.index([report()]);
    expect(evaluated).toEqual([]);
  });

  it('makes every selector of a batch again under a rotated key, the kept ones too', async () => {
    const cached = await indexer();
    const [before] = await cached.index([stored([phone(4)])]);

    await startKeys(2);
    evaluated = [];
    // phone(4) is kept and fresh; phone(5) is not, and its request names the new epoch.
    observed = [];
    const [mixed, fresh] = await cached.index([stored([phone(4)]), stored([phone(5)])]);
    expect(evaluated.every((e) => e.epoch === 2)).toBe(true);
    expect(evaluated.reduce((n, e) => n + e.count, 0)).toBe(2);
    // Both were asked of the key service, whichever round asked.
    expect(observed).toEqual([[0, 2]]);
    expect(tokenOf(mixed, 'phone')).not.toBe(tokenOf(before, 'phone'));

    // The same tokens as a router that never kept any makes under the new key.
    const uncached = await indexer(0);
    expect(await uncached.index([stored([phone(4)]), stored([phone(5)])])).toEqual([mixed, fresh]);

    // A batch of kept selectors only: nothing is asked while the new epoch is fresh, and
    // past the window it is asked again, under the epoch the service names now.
    evaluated = [];
    await cached.index([stored([phone(4)])]);
    expect(evaluated).toEqual([]);
    await startKeys(3);
    clock += TOKEN_CACHE_CONFIRM_MS + 1;
    const [rotated] = await cached.index([stored([phone(4)])]);
    expect(evaluated).toEqual([{ epoch: 3, kind: 'phone', count: 1 }]);
    expect(tokenOf(rotated, 'phone')).not.toBe(tokenOf(mixed, 'phone'));
  });

  it('keeps and counts nothing of a batch the key service did not answer', async () => {
    const cached = await indexer();
    await keys?.stop();
    keys = undefined;
    observed = [];
    await expect(cached.index([stored([phone(7)])])).rejects.toMatchObject({
      code: 'ERR_UNAVAILABLE',
    });
    expect(observed).toEqual([]);
    await startKeys(4);
    evaluated = [];
    await cached.index([stored([phone(7)])]);
    expect(evaluated).toEqual([{ epoch: 4, kind: 'phone', count: 1 }]);
    expect(observed).toEqual([[0, 1]]);
  });
});
