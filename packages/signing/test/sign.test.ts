import { beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '@mosaic/errors';
import {
  REPORT_MEDIA_TYPE,
  generateAgencyKey,
  signReport,
  staticKeyLookup,
  verifyReport,
} from '../src/index.ts';
import type { AgencyKeyPair, StaticKeyLookup } from '../src/index.ts';
import { rejectsWith } from './support/errors.ts';
import { bytesOf, invalidExamples, reportFor, validExamples } from './support/reports.ts';

let pair: AgencyKeyPair;
let keys: StaticKeyLookup;

beforeAll(async () => {
  pair = await generateAgencyKey('nca-uk', { keyId: 'k1' });
  keys = staticKeyLookup([
    { kid: pair.kid, agency: pair.agency, keyId: pair.keyId, publicJwk: pair.publicJwk },
  ]);
});

function parts(jws: string): { header: string; payload: Buffer } {
  const [header = '', payload = ''] = jws.split('.');
  return {
    header: Buffer.from(header, 'base64url').toString('utf8'),
    payload: Buffer.from(payload, 'base64url'),
  };
}

/** The report as JSON with reversed key order and odd (but legal) white space. */
function oddJson(report: Record<string, unknown>): string {
  const members = Object.entries(report)
    .reverse()
    .map(([key, value]) => `${JSON.stringify(key)}\t:\r\n   ${JSON.stringify(value, null, 3)}`);
  return ` \n{  ${members.join(' ,\n\n\t')}\r\n}\t \n`;
}

describe('signReport', () => {
  it('produces a compact JWS whose protected header is exactly alg, kid, typ', async () => {
    const jws = await signReport(bytesOf(reportFor('nca-uk')), pair.privateJwk);
    expect(jws.split('.')).toHaveLength(3);
    expect(parts(jws).header).toBe(
      JSON.stringify({ alg: 'EdDSA', kid: 'nca-uk/k1', typ: REPORT_MEDIA_TYPE }),
    );
    expect(REPORT_MEDIA_TYPE).toBe('application/mosaic-report+jws');
  });

  it('signs the exact bytes given, odd white space and key order included', async () => {
    const text = oddJson(reportFor('nca-uk'));
    const bytes = new TextEncoder().encode(text);
    const fromBytes = await signReport(bytes, pair.privateJwk);
    const fromString = await signReport(text, pair.privateJwk);
    expect(new Uint8Array(parts(fromBytes).payload)).toEqual(bytes);
    // Ed25519 is deterministic: same bytes, same key, same JWS.
    expect(fromString).toBe(fromBytes);
    const verified = await verifyReport(fromBytes, keys);
    expect(verified.payload).toEqual(bytes);
  });

  it.each(validExamples().map(({ name, bytes }) => [name, bytes] as const))(
    'signs and verifies the contract example %s byte for byte, under its own issuer',
    async (_name, bytes) => {
      const { issuer } = JSON.parse(new TextDecoder().decode(bytes)) as { issuer: string };
      const own = await generateAgencyKey(issuer, { keyId: 'example' });
      const jws = await signReport(bytes, own.privateJwk);
      const ownKeys = staticKeyLookup([
        { kid: own.kid, agency: own.agency, keyId: own.keyId, publicJwk: own.publicJwk },
      ]);
      const verified = await verifyReport(jws, ownKeys);
      expect(verified.payload).toEqual(bytes);
      expect(verified.agency).toBe(issuer);
    },
  );

  it.each(invalidExamples().map(({ name, bytes, code }) => [name, code, bytes] as const))(
    'refuses the invalid contract example %s with %s',
    async (_name, code, bytes) => {
      await rejectsWith(signReport(bytes, pair.privateJwk), code as ErrorCode);
    },
  );

  it('serialises an object once with JSON.stringify', async () => {
    const report = reportFor('nca-uk');
    const jws = await signReport(report, pair.privateJwk);
    expect(parts(jws).payload.toString('utf8')).toBe(JSON.stringify(report));
  });

  it('signs the bytes as they were when called, even if the caller changes its buffer afterwards', async () => {
    const bytes = bytesOf(reportFor('nca-uk'));
    const original = new Uint8Array(bytes);
    const pending = signReport(bytes, pair.privateJwk);
    bytes.fill(0x20);
    expect((await verifyReport(await pending, keys)).payload).toEqual(original);
  });

  it('refuses an invalid report with the contract error', async () => {
    await rejectsWith(signReport({ issuer: 'nca-uk' }, pair.privateJwk), ErrorCode.Schema);
    await rejectsWith(signReport('{"issuer": ', pair.privateJwk), ErrorCode.JsonSyntax);
    const cyclic: Record<string, unknown> = reportFor('nca-uk');
    cyclic.self = cyclic;
    await rejectsWith(signReport(cyclic, pair.privateJwk), ErrorCode.Schema);
  });

  it('refuses a report whose issuer is not the agency of the key (ERR_ISSUER_MISMATCH)', async () => {
    await rejectsWith(signReport(reportFor('bka-de'), pair.privateJwk), ErrorCode.IssuerMismatch);
  });

  it('refuses a public key or a malformed private key (ERR_KEY_FILE)', async () => {
    const report = reportFor('nca-uk');
    await rejectsWith(signReport(report, pair.publicJwk), ErrorCode.KeyFile);
    await rejectsWith(signReport(report, { ...pair.privateJwk, kid: 'nca-uk' }), ErrorCode.KeyFile);
    await rejectsWith(signReport(report, { ...pair.privateJwk, crv: 'Ed448' }), ErrorCode.KeyFile);
  });
});
