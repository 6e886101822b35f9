import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeEntry, generateHubKey } from '@mosaic/audit-log';
import { startAuditor } from '@mosaic/auditor';
import { ErrorCode, MosaicError } from '@mosaic/errors';
import { loadFederation } from '@mosaic/federation';
import { accountDirectory } from '@mosaic/identities';
import { startBrokerHub, type BrokerHub } from '@mosaic/identities/test-support';
import {
  HUB_SELECTOR_EVALUATE_SUBJECT,
  Streams,
  auditClient,
  ensureAuditStreams,
  evaluateAtKeyService,
  keyServiceKey,
  readStream,
} from '@mosaic/protocol';
import { selectorKeyInfo, selectorTokens } from '@mosaic/sdk';
import {
  blind,
  canonicalSelector,
  tokenise,
  evaluateBatch,
  finalize,
  generateOprfKeyPair,
  type OprfContext,
} from '@mosaic/selectors';
import { logSink } from '@mosaic/testkit';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  loadOrCreateSelectorKey,
  readSelectorKey,
  startSelectorKeys,
  type SelectorKey,
} from '../src/index.ts';

const NL = 'nl-kmar';
const RO = 'be-police';
const DE = 'ngo-example';
const QUOTA = 5;

let hub: BrokerHub;
let dir: string;
let key: SelectorKey;
let nl: NatsConnection;
let ro: NatsConnection;
let de: NatsConnection;
const sink = logSink('selector-keys');
/** Every scalar-multiplying evaluation the service made, by batch size. */
const evaluations: number[] = [];

beforeAll(async () => {
  const federation = await loadFederation({
    path: join(import.meta.dirname, '../../../deploy/federation.example.yaml'),
  });
  hub = await startBrokerHub(federation, { dirPrefix: 'mosaic-selector-keys-test-' });
  await ensureAuditStreams(hub.jsm);
  dir = await mkdtemp(join(tmpdir(), 'mosaic-selector-key-'));
  key = await loadOrCreateSelectorKey(join(dir, 'selector-key.json'));
  const auditor = await startAuditor({
    nc: await hub.connectAs(hub.ids.services.auditor),
    hubKey: await generateHubKey('mosaic-test'),
    log: logSink('auditor', { level: 'warn' }).log,
    consultations: false,
  });
  hub.stopOnDispose(auditor);
  const snc = await hub.connectAs(hub.ids.services['selector-keys']);
  const service = await startSelectorKeys({
    nc: snc,
    key,
    accounts: accountDirectory(hub.ids),
    audit: auditClient(snc, 'selector-keys'),
    quotaPerDay: 1_000,
    quotaPerAgency: { [DE]: QUOTA },
    log: sink.log,
    evaluate: (sk, blinded, context: OprfContext) => {
      evaluations.push(blinded.length);
      return evaluateBatch(sk, blinded, context);
    },
  });
  hub.stopOnDispose(service);
  nl = await hub.connectAs(hub.ids.agencies.get(NL)!);
  ro = await hub.connectAs(hub.ids.agencies.get(RO)!);
  de = await hub.connectAs(hub.ids.agencies.get(DE)!);
});

afterAll(async () => {
  await hub[Symbol.asyncDispose]();
  await rm(dir, { recursive: true, force: true });
});

async function auditEntries(): Promise<ReturnType<typeof decodeEntry>[]> {
  const out: ReturnType<typeof decodeEntry>[] = [];
  for await (const m of readStream(hub.jsm, Streams.Audit)) out.push(decodeEntry(m.data));
  return out;
}

const phone = (number: string, country?: string) =>
  canonicalSelector('phone', country === undefined ? { number } : { number, country });

describe('selector key service', () => {
  it('gives two agencies the same token for one phone number written differently, equal to the key’s own evaluation', async () => {
    const fromNl = await selectorTokens(nl, NL, [phone('+40 723 456 789')]);
    const fromRo = await selectorTokens(ro, RO, [phone('0723.456.789', 'RO')]);
    const selector = phone('+40723456789');
    expect(fromNl.get(selector)).toBeDefined();
    expect(fromNl.get(selector)).toBe(fromRo.get(selector));
    // The same token as the secret key makes directly: the service used its key.
    const context = { kind: 'phone', epoch: key.epoch } as const;
    const pending = blind([selector], key.publicKey, context);
    const [direct] = finalize(pending, evaluateBatch(key.secretKey, pending.blinded, context));
    expect(fromNl.get(selector)).toBe(direct);
    // Other selectors, other kinds: other tokens, one batch per kind.
    const mixed = await selectorTokens(nl, NL, [
      selector,
      phone('+31 6 12345678'),
      canonicalSelector('iban', 'NL91 ABNA 0417 1643 00'),
    ]);
    expect(new Set(mixed.values()).size).toBe(3);
    expect(mixed.get(selector)).toBe(direct);
  });

  it('answers the hub’s router on the hub’s own subject with the agencies’ tokens, unaudited', async () => {
    const router = await hub.connectAs(hub.ids.services.router);
    const before = (await auditEntries()).length;
    try {
      const hubKey = await keyServiceKey(router, HUB_SELECTOR_EVALUATE_SUBJECT, 5_000);
      const selector = phone('+40 723 456 789');
      const tokens = await tokenise([selector], hubKey, (batch) =>
        evaluateAtKeyService(router, HUB_SELECTOR_EVALUATE_SUBJECT, batch, 5_000),
      );
      // No entry for the router's batch: the report's collection entry already records it.
      expect(await auditEntries()).toHaveLength(before);
      // The same token an agency makes: the index and the agencies' tokens meet.
      expect(tokens.get(selector)).toBe((await selectorTokens(nl, NL, [selector])).get(selector));
    } finally {
      await router.close();
    }
    // An agency cannot reach the hub subject at all: its account has no such import.
    await expect(keyServiceKey(nl, HUB_SELECTOR_EVALUATE_SUBJECT, 1_000)).rejects.toMatchObject({
      code: ErrorCode.Unavailable,
    });
  });

  it('publishes its public key and epoch to every agency', async () => {
    const info = await selectorKeyInfo(de, DE);
    expect(info.epoch).toBe(key.epoch);
    expect(Buffer.from(info.publicKey).equals(Buffer.from(key.publicKey))).toBe(true);
  });

  it('refuses a batch over the quota before any scalar multiplication, and audits each evaluated batch without values', async () => {
    const before = evaluations.length;
    const selectors = ['+49 30 1234567', '+49 30 1234568', '+49 30 1234569'].map((n) => phone(n));
    await selectorTokens(de, DE, selectors); // 3 of 5
    expect(evaluations.slice(before)).toEqual([3]);
    const refused = await selectorTokens(de, DE, [...selectors, phone('+49 30 1234560')]).catch(
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(MosaicError);
    expect((refused as MosaicError).code).toBe(ErrorCode.QuotaExceeded);
    expect((refused as MosaicError).details).toMatchObject({ quota: QUOTA, used: 3, requested: 4 });
    expect(evaluations.slice(before)).toEqual([3]);
    // The agency's quota is its own: another agency still evaluates.
    await selectorTokens(nl, NL, selectors);
    expect(evaluations.slice(before)).toEqual([3, 3]);

    const entries = (await auditEntries()).filter((e) => e.action === 'selectors.evaluated');
    expect(entries.filter((e) => e.actor.id === DE)).toEqual([
      expect.objectContaining({
        actor: { kind: 'agency', id: DE },
        details: { kind: 'phone', count: 3, epoch: key.epoch },
      }),
    ]);
    const text = JSON.stringify(entries);
    for (const s of selectors) expect(text).not.toContain(s.slice('phone:+'.length));
  });

  it('a proof made under another key is refused by the client with a coded error, and no token made', async () => {
    const other = generateOprfKeyPair();
    const refused = await selectorTokens(nl, NL, [phone('+40 723 000 111')], {
      key: { epoch: key.epoch, publicKey: other.publicKey },
    }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(MosaicError);
    expect((refused as MosaicError).code).toBe(ErrorCode.OprfProof);
  });

  it('refuses a request the broker does not attest as the agency’s, and another epoch, evaluating nothing', async () => {
    const before = evaluations.length;
    const pending = blind([phone('+40 723 456 789')], key.publicKey, {
      kind: 'phone',
      epoch: key.epoch,
    });
    const request = JSON.stringify({
      op: 'evaluate',
      kind: 'phone',
      epoch: key.epoch,
      blinded: pending.blinded.map((b) => Buffer.from(b).toString('base64url')),
    });
    // From inside the hub account (no import crossed): no attestation. The broker makes no
    // `_R_` reply for it either, so the service drops it; the request times out.
    const admin = await hub.connectAs(hub.ids.admin);
    await expect(
      admin.request(`mosaic.selectors.evaluate.${NL}`, request, { timeout: 500 }),
    ).rejects.toThrow();
    expect(evaluations.length).toBe(before);
    expect(sink.records).toContainEqual(
      expect.objectContaining({ subject: `mosaic.selectors.evaluate.${NL}`, level: 40 }),
    );
    const stale = await nl.request(
      `mosaic.selectors.evaluate.${NL}`,
      JSON.stringify({ ...JSON.parse(request), epoch: key.epoch + 1 }),
      { timeout: 5000 },
    );
    expect(stale.json()).toMatchObject({ ok: false, code: ErrorCode.SelectorKeyEpoch });
    const garbage = await nl.request(
      `mosaic.selectors.evaluate.${NL}`,
      JSON.stringify({ op: 'evaluate', kind: 'phone', epoch: key.epoch, blinded: ['AAAA'] }),
      { timeout: 5000 },
    );
    expect(garbage.json()).toMatchObject({ ok: false, code: ErrorCode.OprfElement });
    expect(evaluations.length).toBe(before + 1); // the garbage batch reached the evaluation
  });
});

describe('selector key file', () => {
  it('is made once with mode 0600 and read back; a readable, malformed or inconsistent file is refused', async () => {
    const path = join(dir, 'k.json');
    const made = await loadOrCreateSelectorKey(path);
    const again = await loadOrCreateSelectorKey(path);
    expect(Buffer.from(again.secretKey).equals(Buffer.from(made.secretKey))).toBe(true);
    expect(again.epoch).toBe(1);
    await chmod(path, 0o644);
    await expect(readSelectorKey(path)).rejects.toMatchObject({ code: ErrorCode.HubDataDir });
    await chmod(path, 0o600);
    const stored = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
    const other = generateOprfKeyPair();
    await writeFile(
      path,
      JSON.stringify({ ...stored, publicKey: Buffer.from(other.publicKey).toString('base64url') }),
    );
    await expect(readSelectorKey(path)).rejects.toMatchObject({ code: ErrorCode.HubDataDir });
    await writeFile(path, '{"v":1}');
    await expect(readSelectorKey(path)).rejects.toMatchObject({ code: ErrorCode.HubDataDir });
  });
});
