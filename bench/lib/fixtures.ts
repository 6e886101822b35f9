/**
 * Reports, keys and a federation for the benchmark: every report is ~1 KB of JSON, and the
 * federation routes each publisher's reports to exactly three recipients.
 */
import { createPrivateKey, randomUUID, sign, type KeyObject } from 'node:crypto';
import { REPORT_MEDIA_TYPE, type AgencyKeyPair } from '@mosaic/signing';

/** The three agencies every end-to-end report is routed to. */
export const RECIPIENTS = ['rcv-nl', 'rcv-de', 'rcv-ro'] as const;
const ORIGINS = ['NL', 'DE', 'RO', 'BE', 'FR', 'AT', 'PL', 'IT'] as const;

/** Publisher ids `pub-0` … `pub-<n-1>`. */
export function publisherIds(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `pub-${i}`);
}

function originOf(publisher: string): string {
  return ORIGINS[Number(publisher.slice(4)) % ORIGINS.length]!;
}

/**
 * Publishers (no subscriptions: they never receive alerts) and three recipients that
 * subscribe to every origin and category at up to AMBER. Reports are GREEN, so each one is
 * routed to exactly the three recipients.
 */
export function benchFederation(keys: ReadonlyMap<string, AgencyKeyPair>): object {
  const agency = (id: string, home: string, subscriptions: object[]): object => ({
    id,
    name: id,
    kind: 'police',
    jurisdictions: [home],
    contact: { email: `${id}@bench.example` },
    keys: [{ keyId: keys.get(id)!.keyId, publicJwk: keys.get(id)!.publicJwk }],
    subscriptions,
  });
  const everything = {
    jurisdictions: [...ORIGINS],
    categories: ['recruitment', 'transport', 'exploitation', 'financial-flow'],
    maxTlp: 'AMBER',
  };
  const publishers = [...keys.keys()].filter((id) => id.startsWith('pub-'));
  return {
    version: 1,
    groups: [],
    agencies: [
      ...publishers.map((id) => agency(id, originOf(id), [])),
      ...RECIPIENTS.map((id, i) => agency(id, ORIGINS[i]!, [everything])),
    ],
    agreements: [],
  };
}

const FILLER =
  'Recruiter contacts job seekers through a classified advert promising warehouse work; ' +
  'transport is arranged by the same phone number and wages are withheld on arrival. ';

/**
 * A GREEN report of ~1 KB (JSON) from `issuer`, issued a minute ago, numbered `n`. Its two
 * selectors: a phone number that is n's own (every publisher's report n carries it, so it is
 * shared across agencies and never repeated by one; the phases' numbers are a million
 * apart) and one of 997 e-mail addresses (each publisher repeats one every 997 reports).
 */
export function benchReport(issuer: string, n: number, issuedAt = new Date()): object {
  const origin = originOf(issuer);
  return {
    schemaVersion: '1.0',
    reportId: randomUUID(),
    issuer,
    issuedAt: new Date(issuedAt.getTime() - 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    origin,
    jurisdictions: [origin, 'NL'].filter((j, i, a) => a.indexOf(j) === i),
    category: (['recruitment', 'transport', 'exploitation', 'financial-flow'] as const)[n % 4],
    indicators: [
      { type: 'phone', number: `+4072${String(n % 10_000_000).padStart(7, '0')}` },
      { type: 'email', address: `recruiter${n % 997}@mail.example` },
    ],
    narrative: `Bench report ${n}. ${FILLER}${FILLER}`.slice(0, 300),
    grading: { sourceReliability: 'B', informationCredibility: 2, confidence: 80 },
    handling: { tlp: 'GREEN' },
  };
}

const b64 = (b: Buffer | string): string => Buffer.from(b).toString('base64url');

/**
 * A compact-JWS signer equivalent to `signReport` (same protected header, Ed25519 over the
 * exact JSON bytes) without its per-call key import and schema check: signing 100,000
 * reports for the replay bench is set-up, not what is measured. `verifyReport` checks every
 * one of them.
 */
export function fastSigner(privateJwk: object & { kid?: string }): (report: object) => string {
  const key: KeyObject = createPrivateKey({ key: privateJwk as never, format: 'jwk' });
  const header = b64(JSON.stringify({ alg: 'EdDSA', kid: privateJwk.kid, typ: REPORT_MEDIA_TYPE }));
  return (report) => {
    const input = `${header}.${b64(JSON.stringify(report))}`;
    return `${input}.${b64(sign(null, Buffer.from(input), key))}`;
  };
}
