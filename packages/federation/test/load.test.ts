import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isIsoCountry } from '@mosaic/contract';
import { isMosaicError, type MosaicError } from '@mosaic/errors';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AgencyKind,
  loadFederation,
  parseFederation,
  type FederationInput,
  type FederationProblem,
} from '../src/index.ts';
import { ed25519Jwks, toYaml, validFederation } from '../src/internal.ts';

function failure(run: () => unknown): MosaicError {
  try {
    run();
  } catch (err) {
    if (isMosaicError(err)) return err;
    throw err;
  }
  throw new Error('expected a MosaicError');
}

function problems(input: string | FederationInput | Record<string, unknown>): FederationProblem[] {
  const text = typeof input === 'string' ? input : toYaml(input);
  const err = failure(() => parseFederation(text));
  expect(err.code).toBe('ERR_FEDERATION');
  return (err.details as { problems: FederationProblem[] }).problems;
}

function edit(change: (f: FederationInput & Record<string, unknown>) => void): FederationInput {
  const f = validFederation() as FederationInput & Record<string, unknown>;
  change(f);
  return f;
}

const first = <T>(items: readonly T[] | undefined): T => {
  const item = items?.[0];
  if (item === undefined) throw new Error('fixture has no item');
  return item;
};

describe('parseFederation: valid input', () => {
  it('accepts the fixture and applies defaults', () => {
    const f = parseFederation(toYaml(validFederation()));
    expect(f.agencies.map((a) => a.id)).toEqual(['nl-police', 'ngo-x']);
    const ngo = f.agencies[1];
    expect(ngo?.keys).toEqual([]);
    expect(ngo?.subscriptions).toEqual([]);
  });

  it('accepts a federation without groups or agreements', () => {
    const f = parseFederation(
      toYaml({
        version: 1,
        agencies: [
          {
            id: 'a',
            name: 'A',
            kind: 'other',
            jurisdictions: ['FR'],
            contact: { email: 'a@a.example' },
          },
        ],
      }),
    );
    expect(f.groups).toEqual([]);
    expect(f.agreements).toEqual([]);
  });

  it('accepts JSON, which is YAML', () => {
    expect(parseFederation(JSON.stringify(validFederation())).agencies).toHaveLength(2);
  });

  it('loads the commented example in deploy/', async () => {
    const f = await loadFederation({
      path: new URL('../../../deploy/federation.example.yaml', import.meta.url).pathname,
    });
    expect(f.agencies.length).toBeGreaterThanOrEqual(3);
    expect(f.agencies.some((a) => a.keys.length > 0)).toBe(true);
    expect(f.agencies.some((a) => a.keys.length === 0)).toBe(true);
  });

  it('loads the bundled demo: four agencies, three jurisdictions, a group, an NGO, no keys', async () => {
    const f = await loadFederation({
      path: new URL('../demo/federation.yaml', import.meta.url).pathname,
    });
    expect(f.agencies.map((a) => a.id)).toEqual(
      expect.arrayContaining(['nl-police', 'de-bka', 'ro-dicot', 'ngo-lastrada']),
    );
    const countries = new Set(
      f.agencies.flatMap((a) => a.jurisdictions).filter((j) => isIsoCountry(j)),
    );
    expect(countries.size).toBeGreaterThanOrEqual(3);
    expect(f.groups.length).toBeGreaterThanOrEqual(1);
    expect(f.agencies.find((a) => a.id === 'ngo-lastrada')).toMatchObject({
      kind: AgencyKind.Ngo,
      jurisdictions: ['NL', 'RO'],
    });
    expect(f.agencies.every((a) => a.keys.length === 0)).toBe(true);
  });
});

describe('parseFederation: YAML is parsed safely', () => {
  it('reports a syntax error with its line', () => {
    const [p] = problems('version: 1\nagencies: [\n');
    expect(p?.path).toMatch(/^line \d+, column \d+$/);
  });

  it('refuses repeated keys', () => {
    expect(problems('version: 1\nversion: 1\n')[0]?.message).toMatch(/unique/i);
  });

  it('refuses more than one document', () => {
    expect(problems('version: 1\n---\nversion: 1\n')[0]?.message).toMatch(/multiple documents/i);
  });

  it.each([
    ['a standard tag', 'version: !!int 1\n'],
    ['a binary tag', 'version: 1\nname: !!binary aGVsbG8=\n'],
    ['a custom tag', 'version: 1\nname: !custom x\n'],
  ])('refuses %s', (_what, text) => {
    expect(
      problems(text)
        .map((p) => p.message)
        .join(' '),
    ).toMatch(/tag/i);
  });

  it('refuses anchors and aliases (no entity expansion)', () => {
    const text = 'version: 1\ngroups: &g []\nagreements: *g\n';
    expect(problems(text)).toEqual([
      {
        path: expect.stringMatching(/^line 2, column \d+$/) as string,
        message: 'anchors (&g) are not allowed',
      },
      {
        path: expect.stringMatching(/^line 3, column \d+$/) as string,
        message: 'aliases (*g) are not allowed',
      },
    ]);
  });

  it('treats merge keys as ordinary (and so unknown) keys', () => {
    expect(problems(edit((f) => (f['<<'] = { version: 1 })))).toContainEqual({
      path: '(root)',
      message: expect.stringMatching(/Unrecognized key.*<</) as string,
    });
  });

  it('bounds the problems of pathological nesting and stays up', () => {
    const text = `version: ${'['.repeat(50_000)}${']'.repeat(50_000)}\n`;
    const found = problems(text);
    expect(found.length).toBeGreaterThan(0);
    expect(found.length).toBeLessThanOrEqual(10);
  });

  it('refuses text larger than the limit before parsing', () => {
    const err = failure(() =>
      parseFederation(`# ${'x'.repeat(200)}\nversion: 1\n`, { maxBytes: 100 }),
    );
    expect(err.code).toBe('ERR_FEDERATION');
    expect(err.details).toMatchObject({ limit: 100 });
  });

  it('keeps __proto__ an ordinary, refused key and pollutes nothing', () => {
    const found = problems('version: 1\n__proto__: { polluted: true }\nagencies: []\n');
    expect(found.map((p) => p.message).join(' ')).toMatch(/__proto__/);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });
});

describe('parseFederation: schema', () => {
  it.each<[string, (f: FederationInput & Record<string, unknown>) => void, string]>([
    ['an unknown top-level key', (f) => (f['extra'] = 1), '(root)'],
    ['another version', (f) => (f.version = 2 as 1), 'version'],
    ['no agencies', (f) => (f.agencies = []), 'agencies'],
    ['an upper-case agency id', (f) => (first(f.agencies).id = 'NL-police'), 'agencies[0].id'],
    ['an agency id with a dot', (f) => (first(f.agencies).id = 'nl.police'), 'agencies[0].id'],
    ['an agency id that is a wildcard', (f) => (first(f.agencies).id = '>'), 'agencies[0].id'],
    [
      'an agency id with a trailing hyphen',
      (f) => (first(f.agencies).id = 'nl-'),
      'agencies[0].id',
    ],
    ['an unknown kind', (f) => (first(f.agencies).kind = 'army' as 'other'), 'agencies[0].kind'],
    ['a name with a line break', (f) => (first(f.agencies).name = 'a\nb'), 'agencies[0].name'],
    [
      'a bad e-mail',
      (f) => (first(f.agencies).contact.email = 'nope'),
      'agencies[0].contact.email',
    ],
    [
      'an unknown contact field',
      (f) => ((first(f.agencies).contact as Record<string, unknown>)['fax'] = '1'),
      'agencies[0].contact',
    ],
    [
      'an http contact url',
      (f) => (first(f.agencies).contact.url = 'http://x.example'),
      'agencies[0].contact.url',
    ],
    [
      'a lower-case country',
      (f) => (first(f.agencies).jurisdictions = ['nl']),
      'agencies[0].jurisdictions[0]',
    ],
    [
      'an unassigned country',
      (f) => (first(f.agencies).jurisdictions = ['XK']),
      'agencies[0].jurisdictions[0]',
    ],
    [
      'no jurisdictions',
      (f) => (first(f.agencies).jurisdictions = []),
      'agencies[0].jurisdictions',
    ],
    [
      'a bad key id',
      (f) => (first(first(f.agencies).keys).keyId = 'a/b'),
      'agencies[0].keys[0].keyId',
    ],
    [
      'an RSA key',
      (f) => ((first(first(f.agencies).keys).publicJwk as Record<string, unknown>)['kty'] = 'RSA'),
      'agencies[0].keys[0].publicJwk.kty',
    ],
    [
      'an X25519 key',
      (f) =>
        ((first(first(f.agencies).keys).publicJwk as Record<string, unknown>)['crv'] = 'X25519'),
      'agencies[0].keys[0].publicJwk.crv',
    ],
    [
      'a short public key',
      (f) => (first(first(f.agencies).keys).publicJwk.x = 'abc'),
      'agencies[0].keys[0].publicJwk.x',
    ],
    [
      'a non-canonical public key',
      (f) => (first(first(f.agencies).keys).publicJwk.x = `${'A'.repeat(42)}B`),
      'agencies[0].keys[0].publicJwk.x',
    ],
    [
      'an HMAC alg',
      (f) =>
        ((first(first(f.agencies).keys).publicJwk as Record<string, unknown>)['alg'] = 'HS256'),
      'agencies[0].keys[0].publicJwk.alg',
    ],
    [
      'a local time',
      (f) => (first(first(f.agencies).keys).notBefore = '2025-01-01T00:00:00'),
      'agencies[0].keys[0].notBefore',
    ],
    [
      'a rule without categories',
      (f) => (first(first(f.agencies).subscriptions).categories = []),
      'agencies[0].subscriptions[0].categories',
    ],
    [
      'a rule with an unknown category',
      (f) => (first(first(f.agencies).subscriptions).categories = ['smuggling' as 'other']),
      'agencies[0].subscriptions[0].categories[0]',
    ],
    [
      'a rule with an unknown TLP',
      (f) => (first(first(f.agencies).subscriptions).maxTlp = 'WHITE' as 'RED'),
      'agencies[0].subscriptions[0].maxTlp',
    ],
    [
      'a rule with credibility 7',
      (f) => (first(first(f.agencies).subscriptions).minInformationCredibility = 7),
      'agencies[0].subscriptions[0].minInformationCredibility',
    ],
    [
      'a rule with reliability G',
      (f) => (first(first(f.agencies).subscriptions).minSourceReliability = 'G' as 'A'),
      'agencies[0].subscriptions[0].minSourceReliability',
    ],
    [
      'a rule with confidence 101',
      (f) => (first(first(f.agencies).subscriptions).minConfidence = 101),
      'agencies[0].subscriptions[0].minConfidence',
    ],
    [
      'a rule with a fractional confidence',
      (f) => (first(first(f.agencies).subscriptions).minConfidence = 50.5),
      'agencies[0].subscriptions[0].minConfidence',
    ],
    [
      'a rule with an unknown indicator type',
      (f) => (first(first(f.agencies).subscriptions).indicatorTypes = ['dna' as 'phone']),
      'agencies[0].subscriptions[0].indicatorTypes[0]',
    ],
    [
      'a rule without maxTlp',
      (f) => delete (first(first(f.agencies).subscriptions) as Record<string, unknown>)['maxTlp'],
      'agencies[0].subscriptions[0].maxTlp',
    ],
    ['a group id that looks like a country', (f) => (first(f.groups).id = 'EU'), 'groups[0].id'],
    [
      'a group member that is not a country',
      (f) => (first(f.groups).members = ['BENELUX' as 'BE']),
      'groups[0].members[0]',
    ],
    ['an empty group', (f) => (first(f.groups).members = []), 'groups[0].members'],
    ['an agreement to nobody', (f) => (first(f.agreements).to = []), 'agreements[0].to'],
    [
      'an agreement with a bad TLP',
      (f) => (first(f.agreements).maxTlp = 'BLACK' as 'RED'),
      'agreements[0].maxTlp',
    ],
  ])('refuses %s, naming the path', (_what, change, path) => {
    expect(problems(edit(change)).map((p) => p.path)).toContain(path);
  });

  it('lists every schema problem at once', () => {
    const found = problems(
      edit((f) => {
        first(f.agencies).id = 'BAD';
        first(f.agencies).contact.email = 'bad';
        f.version = 3 as 1;
      }),
    );
    expect(found.map((p) => p.path)).toEqual(
      expect.arrayContaining(['version', 'agencies[0].id', 'agencies[0].contact.email']),
    );
  });

  it('puts every problem with its path in the message', () => {
    const err = failure(() =>
      parseFederation(toYaml(edit((f) => (first(f.agencies).kind = 'x' as 'other'))), {
        source: 'f.yaml',
      }),
    );
    expect(err.message).toMatch(
      /^federation f\.yaml is invalid \(1 problem\):\n {2}agencies\[0\]\.kind: /,
    );
    expect(err.details).toMatchObject({ source: 'f.yaml' });
  });
});

describe('parseFederation: private keys are refused loudly', () => {
  it('names the key, says PRIVATE and asks for rotation, without echoing the secret', () => {
    const { privateJwk } = ed25519Jwks();
    const err = failure(() =>
      parseFederation(
        toYaml(edit((f) => (first(first(f.agencies).keys).publicJwk = privateJwk as never))),
      ),
    );
    const found = (err.details as { problems: FederationProblem[] }).problems;
    expect(found).toEqual([
      {
        path: 'agencies[0].keys[0].publicJwk',
        message: expect.stringMatching(/PRIVATE key \(member d\).*rotate/) as string,
      },
    ]);
    expect(err.message).not.toContain(String(privateJwk['d']));
    expect(JSON.stringify(err.toJSON())).not.toContain(String(privateJwk['d']));
  });

  it('reports it first even among other problems', () => {
    const { privateJwk } = ed25519Jwks();
    const found = problems(
      edit((f) => {
        f.version = 9 as 1;
        first(first(f.agencies).keys).publicJwk = privateJwk as never;
      }),
    );
    expect(found[0]?.message).toMatch(/PRIVATE/);
    expect(found.map((p) => p.path)).toContain('version');
  });

  it.each(['p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'])(
    'refuses the private or symmetric member %s',
    (member) => {
      const found = problems(
        edit(
          (f) =>
            ((first(first(f.agencies).keys).publicJwk as Record<string, unknown>)[member] = 'AAAA'),
        ),
      );
      expect(found[0]?.message).toContain(`member ${member}`);
    },
  );
});

describe('parseFederation: cross-checks', () => {
  const other = (id: string): FederationInput['agencies'][number] => ({
    id,
    name: id,
    kind: 'other',
    jurisdictions: ['FR'],
    contact: { email: 'o@o.example' },
  });

  it.each<[string, (f: FederationInput) => void, string, RegExp]>([
    [
      'a duplicate agency id',
      (f) => f.agencies.push(other('nl-police')),
      'agencies[2].id',
      /agency nl-police is already defined at agencies\[0\]\.id/,
    ],
    [
      'a duplicate group id',
      (f) => f.groups?.push({ id: 'BENELUX', name: 'again', members: ['BE'] }),
      'groups[1].id',
      /already defined/,
    ],
    [
      'a repeated group member',
      (f) => (first(f.groups).members = ['BE', 'BE']),
      'groups[0].members[1]',
      /already defined/,
    ],
    [
      'an undefined group in an agency',
      (f) => (first(f.agencies).jurisdictions = ['SCHENGEN']),
      'agencies[0].jurisdictions[0]',
      /SCHENGEN is neither/,
    ],
    [
      'an undefined group in a rule',
      (f) => (first(first(f.agencies).subscriptions).jurisdictions = ['NORDIC']),
      'agencies[0].subscriptions[0].jurisdictions[0]',
      /NORDIC is neither/,
    ],
    [
      'a repeated agency jurisdiction',
      (f) => (first(f.agencies).jurisdictions = ['NL', 'NL']),
      'agencies[0].jurisdictions[1]',
      /jurisdiction NL/,
    ],
    [
      'a repeated rule category',
      (f) => (first(first(f.agencies).subscriptions).categories = ['recruitment', 'recruitment']),
      'agencies[0].subscriptions[0].categories[1]',
      /category/,
    ],
    [
      'a repeated rule jurisdiction',
      (f) => (first(first(f.agencies).subscriptions).jurisdictions = ['DE', 'DE']),
      'agencies[0].subscriptions[0].jurisdictions[1]',
      /jurisdiction DE/,
    ],
    [
      'a repeated rule indicator type',
      (f) => (first(first(f.agencies).subscriptions).indicatorTypes = ['phone', 'phone']),
      'agencies[0].subscriptions[0].indicatorTypes[1]',
      /indicator type/,
    ],
    [
      'a repeated key id',
      (f) => first(f.agencies).keys?.push({ keyId: 'k1', publicJwk: ed25519Jwks().publicJwk }),
      'agencies[0].keys[1].keyId',
      /key id k1/,
    ],
    [
      'a JWK kid naming another key',
      (f) =>
        (first(first(f.agencies).keys).publicJwk = {
          ...first(first(f.agencies).keys).publicJwk,
          kid: 'ngo-x/k1',
        }),
      'agencies[0].keys[0].publicJwk.kid',
      /nl-police\/k1/,
    ],
    [
      'a window ending before it starts',
      (f) => (first(first(f.agencies).keys).notAfter = '2024-01-01T00:00:00Z'),
      'agencies[0].keys[0].notAfter',
      /after notBefore/,
    ],
    [
      'an empty window',
      (f) => (first(first(f.agencies).keys).notAfter = '2025-01-01T00:00:00Z'),
      'agencies[0].keys[0].notAfter',
      /after notBefore/,
    ],
    [
      'one public key for two agencies',
      (f) =>
        (f.agencies[1] = {
          ...other('ngo-x'),
          keys: [{ keyId: 'k9', publicJwk: { ...first(first(f.agencies).keys).publicJwk } }],
        }),
      'agencies[1].keys[0].publicJwk.x',
      /same public key as nl-police\/k1/,
    ],
    [
      'an agreement from an unknown agency',
      (f) => (first(f.agreements).from = 'ghost'),
      'agreements[0].from',
      /ghost is not defined/,
    ],
    [
      'an agreement to an unknown agency',
      (f) => (first(f.agreements).to = 'ghost'),
      'agreements[0].to',
      /ghost is not defined/,
    ],
    [
      'an agreement listing an unknown agency',
      (f) => (first(f.agreements).to = ['ngo-x', 'ghost']),
      'agreements[0].to[1]',
      /ghost is not defined/,
    ],
    [
      'an agreement with itself',
      (f) => (first(f.agreements).to = 'nl-police'),
      'agreements[0].to',
      /itself/,
    ],
    [
      'a repeated recipient',
      (f) => (first(f.agreements).to = ['ngo-x', 'ngo-x']),
      'agreements[0].to[1]',
      /recipient ngo-x/,
    ],
    [
      'a repeated agreement category',
      (f) => (first(f.agreements).categories = ['recruitment', 'recruitment']),
      'agreements[0].categories[1]',
      /category/,
    ],
  ])('refuses %s', (_what, change, path, message) => {
    const found = problems(edit(change));
    expect(found).toContainEqual({ path, message: expect.stringMatching(message) as string });
  });

  it('lists every inconsistency at once', () => {
    const found = problems(
      edit((f) => {
        f.agencies.push(other('nl-police'));
        first(f.agreements).from = 'ghost';
        first(f.agencies).jurisdictions = ['NOWHERE'];
      }),
    );
    expect(found.map((p) => p.path)).toEqual(
      expect.arrayContaining([
        'agencies[2].id',
        'agreements[0].from',
        'agencies[0].jurisdictions[0]',
      ]),
    );
  });

  it('accepts keys with open windows, a revocation, and an agency with no keys', () => {
    const f = parseFederation(
      toYaml(
        edit((f) => {
          first(f.agencies).keys?.push({
            keyId: 'k2',
            publicJwk: ed25519Jwks().publicJwk,
            revokedAt: '2025-06-01T00:00:00Z',
          });
          first(f.agencies).keys?.push({
            keyId: 'k3',
            publicJwk: {
              ...ed25519Jwks().publicJwk,
              kid: 'nl-police/k3',
              alg: 'EdDSA',
              use: 'sig',
              key_ops: ['verify'],
            },
          });
        }),
      ),
    );
    expect(f.agencies[0]?.keys.map((k) => k.keyId)).toEqual(['k1', 'k2', 'k3']);
    expect(f.agencies[1]?.keys).toEqual([]);
  });
});

describe('loadFederation from a file', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mosaic-federation-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const fail = async (run: Promise<unknown>): Promise<MosaicError> => {
    const err: unknown = await run.then(
      () => undefined,
      (e: unknown) => e,
    );
    if (!isMosaicError(err)) throw new Error(`expected a MosaicError, got ${String(err)}`);
    return err;
  };

  it('loads a valid file and from text', async () => {
    const path = join(dir, 'ok.yaml');
    await writeFile(path, toYaml(validFederation()));
    expect((await loadFederation({ path })).agencies).toHaveLength(2);
    expect((await loadFederation({ text: toYaml(validFederation()) })).agencies).toHaveLength(2);
  });

  it('names the file in its problems', async () => {
    const path = join(dir, 'bad.yaml');
    await writeFile(path, 'version: 2\n');
    const err = await fail(loadFederation({ path }));
    expect(err.code).toBe('ERR_FEDERATION');
    expect(err.message).toContain(path);
  });

  it('raises ERR_IO for a missing file and for a directory', async () => {
    for (const path of [join(dir, 'missing.yaml'), dir]) {
      const err = await fail(loadFederation({ path }));
      expect(err.code).toBe('ERR_IO');
      expect(err.details).toEqual({ path });
    }
  });

  it('refuses a file over the limit without reading it', async () => {
    const path = join(dir, 'big.yaml');
    await writeFile(path, `version: 1\n# ${'x'.repeat(2000)}\n`);
    const err = await fail(loadFederation({ path }, { maxBytes: 1000 }));
    expect(err.code).toBe('ERR_FEDERATION');
    expect(err.details).toMatchObject({ limit: 1000 });
  });

  it('refuses a file that is not UTF-8', async () => {
    const path = join(dir, 'latin1.yaml');
    await writeFile(path, Buffer.from([0x76, 0x3a, 0x20, 0xe9, 0x0a]));
    const err = await fail(loadFederation({ path }));
    expect(err.code).toBe('ERR_FEDERATION');
    expect(err.message).toMatch(/UTF-8/);
  });
});
