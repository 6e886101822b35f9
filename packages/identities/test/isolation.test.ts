import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  HUB_API_PREFIX,
  HubServices,
  agencyOfIngestSubject,
  alertsConsumer,
  isImportedReplySubject,
} from '@mosaic/protocol';
import {
  agencyImports,
  agencyStreamImports,
  agencyPermissions,
  findIsolationBreaches,
  findOperatorBreaches,
  assertAgencyIsolation,
  gatewayPermissions,
  hubPermissions,
  operatorImports,
  operatorPermissions,
  servicePermissions,
  subjectsIntersect,
  type Permissions,
} from '../src/index.ts';

/** Valid agency ids, with a bias towards ids that are prefixes of one another. */
const label = fc.stringMatching(/^[a-z0-9](?:[a-z0-9-]{0,10}[a-z0-9])?$/);
const agencyPair = fc
  .oneof(
    fc.tuple(label, label),
    fc.tuple(label, label).map(([a, b]) => [a, `${a}-${b}`] as const),
    fc.tuple(label, label).map(([a, b]) => [a, `${a}${b}`] as const),
    fc.tuple(label, label).map(([a, b]) => [`${b}-${a}`, a] as const),
  )
  .filter(([a, b]) => a !== b && a.length <= 64 && b.length <= 64);

/** Concrete hub subjects only agency `b` may use. */
function privateSubjectsOf(b: string): string[] {
  const consumer = alertsConsumer(b);
  return [
    `mosaic.ingest.${b}`,
    `mosaic.selectors.evaluate.${b}`,
    `mosaic.holdings.${b}`,
    `mosaic.alerts.${b}.report`,
    `mosaic.alerts.${b}.hit.${b}x.0b6f`,
    `$JS.API.CONSUMER.INFO.ALERTS.${consumer}`,
    `$JS.API.CONSUMER.MSG.NEXT.ALERTS.${consumer}`,
    `$JS.API.CONSUMER.CREATE.ALERTS.${consumer}`,
    `$JS.API.CONSUMER.DURABLE.CREATE.ALERTS.${consumer}`,
    `$JS.ACK.ALERTS.${consumer}.1.2.3.1700000000000000000.0`,
    `_INBOX_${b}.abc`,
    `_INBOX_${b}.abc.def`,
  ];
}

const granted = (p: Permissions): string[] => [...p.publish.allow, ...p.subscribe.allow];

/**
 * Every hub subject an agency's message or reply can land on: the hub side of its imports.
 * A reply subject an agency chooses names a subject of its own account; the broker delivers
 * the answer there, and it leaves the account only through an import.
 */
const reach = (a: string): string[] => agencyImports(a).map((i) => i.subject);

/** Subjects no agency may ever touch, whatever its id. */
const hubOnly = [
  '$JS.API.INFO',
  '$JS.API.STREAM.INFO.ALERTS',
  '$JS.API.STREAM.INFO.REPORTS',
  '$JS.API.STREAM.NAMES',
  '$JS.API.STREAM.LIST',
  '$JS.API.STREAM.MSG.GET.ALERTS',
  '$JS.API.STREAM.MSG.GET.REPORTS',
  '$JS.API.STREAM.MSG.GET.AUDIT',
  '$JS.API.STREAM.MSG.GET.AUDIT_CHECKPOINTS',
  '$JS.API.STREAM.CREATE.X',
  '$JS.API.STREAM.DELETE.REPORTS',
  '$JS.API.STREAM.PURGE.AUDIT',
  '$JS.API.DIRECT.GET.ALERTS',
  '$JS.API.DIRECT.GET.ALERTS.mosaic.alerts.x.y',
  '$JS.API.CONSUMER.LIST.ALERTS',
  '$JS.API.CONSUMER.NAMES.ALERTS',
  '$JS.API.CONSUMER.CREATE.ALERTS',
  '$JS.API.CONSUMER.CREATE.REPORTS.x',
  '$JS.API.CONSUMER.MSG.NEXT.REPORTS.router',
  '$JS.API.CONSUMER.INFO.REPORTS.router',
  '$JS.ACK.REPORTS.router.1.1.1.1.0',
  '$KV.mosaic-registry.agency.x',
  '$JS.API.STREAM.INFO.KV_mosaic-registry',
  'mosaic.reports.NL.recruitment',
  'mosaic.rejections.x',
  'mosaic.audit',
  'mosaic.hub.audit.ingest',
  'mosaic.hub.audit.selector-keys',
  'mosaic.hub.audit.holdings',
  '$KV.mosaic-holdings.x.tok',
  '$JS.API.STREAM.INFO.KV_mosaic-holdings',
  '$JS.API.STREAM.MSG.GET.KV_mosaic-holdings',
  '$JS.API.DIRECT.GET.KV_mosaic-holdings',
  '$JS.API.DIRECT.GET.KV_mosaic-holdings.$KV.mosaic-holdings.x.tok',
  '$JS.API.CONSUMER.CREATE.KV_mosaic-holdings.x',
  '_INBOX_HUB_HOLDINGS.abc',
  '_INBOX.abc',
  '_INBOX_HUB_SELECTOR-KEYS.abc',
  '_INBOX_HUB_INGEST.abc',
  '_INBOX_HUB_OPERATOR.abc',
  '_INBOX_HUB_HUB.abc',
  '$SRV.PING',
  '$SRV.INFO.mosaic-ingest',
  '$SRV.STATS.mosaic-router.abc',
];

describe('subjectsIntersect', () => {
  const matches = (pattern: string, subject: string): boolean => {
    const p = pattern.split('.');
    const s = subject.split('.');
    for (let i = 0; i < p.length; i++) {
      if (p[i] === '>') return s.length > i;
      if (i >= s.length || (p[i] !== '*' && p[i] !== s[i])) return false;
    }
    return p.length === s.length;
  };
  const token = fc.constantFrom('a', 'b', '*');
  const pattern = fc
    .tuple(fc.array(token, { minLength: 1, maxLength: 3 }), fc.boolean())
    .map(([tokens, tail]) => [...tokens, ...(tail ? ['>'] : [])].join('.'));
  // Every subject over {a, b, c} of 1..5 tokens: enough witnesses for patterns of <= 4 tokens.
  const subjects: string[] = [];
  const grow = (prefix: string[]): void => {
    if (prefix.length > 0) subjects.push(prefix.join('.'));
    if (prefix.length < 5) for (const t of ['a', 'b', 'c']) grow([...prefix, t]);
  };
  grow([]);

  it('agrees with brute force over all small subjects', () => {
    fc.assert(
      fc.property(pattern, pattern, (p, q) => {
        const witness = subjects.some((s) => matches(p, s) && matches(q, s));
        expect(subjectsIntersect(p, q)).toBe(witness);
        expect(subjectsIntersect(q, p)).toBe(witness);
      }),
      { numRuns: 2000 },
    );
  });

  it.each([
    ['_INBOX_nl.>', '_INBOX_nl-police.x', false],
    ['mosaic.ingest.*', 'mosaic.ingest.nl', true],
    ['mosaic.ingest.* ingest', 'mosaic.ingest.nl', true],
    ['>', '$JS.API.INFO', true],
    ['a.>', 'a', false],
    ['a.*', 'a.b.c', false],
  ])('%s vs %s → %s', (p, q, expected) => {
    expect(subjectsIntersect(p, q)).toBe(expected);
  });
});

describe('agency accounts and permissions', () => {
  it('are exactly its own services and the public keys, under the hub API prefix', () => {
    const p = HUB_API_PREFIX;
    expect(agencyPermissions('nl-police')).toEqual({
      publish: {
        allow: [
          'mosaic.ingest.nl-police',
          `${p}.CONSUMER.INFO.ALERTS.alerts-nl-police`,
          `${p}.CONSUMER.MSG.NEXT.ALERTS.alerts-nl-police`,
          '$JS.ACK.ALERTS.alerts-nl-police.>',
          `${p}.CONSUMER.INFO.ALERTS.leaf-nl-police`,
          `${p}.CONSUMER.RESET.ALERTS.leaf-nl-police`,
          '$JS.FC.ALERTS.leaf-nl-police.>',
          `${p}.CONSUMER.INFO.ALERTS.leafcheck-nl-police`,
          `${p}.CONSUMER.MSG.NEXT.ALERTS.leafcheck-nl-police`,
          `${p}.CONSUMER.RESET.ALERTS.leafcheck-nl-police`,
          `${p}.STREAM.MSG.GET.KV_mosaic-keys`,
          `${p}.DIRECT.GET.KV_mosaic-keys`,
          `${p}.DIRECT.GET.KV_mosaic-keys.>`,
          'mosaic.selectors.evaluate.nl-police',
          'mosaic.holdings.nl-police',
        ],
      },
      subscribe: { allow: ['_INBOX_nl-police.>', 'mosaic.leaf.nl-police.alerts', '$JSC.R.>'] },
    });
    expect(reach('nl-police')).toEqual([
      'mosaic.ingest.nl-police',
      '$JS.API.CONSUMER.INFO.ALERTS.alerts-nl-police',
      '$JS.API.CONSUMER.MSG.NEXT.ALERTS.alerts-nl-police',
      '$JS.ACK.ALERTS.alerts-nl-police.>',
      '$JS.API.CONSUMER.INFO.ALERTS.leaf-nl-police',
      '$JS.API.CONSUMER.RESET.ALERTS.leaf-nl-police',
      '$JS.FC.ALERTS.leaf-nl-police.>',
      '$JS.API.CONSUMER.INFO.ALERTS.leafcheck-nl-police',
      '$JS.API.CONSUMER.MSG.NEXT.ALERTS.leafcheck-nl-police',
      '$JS.API.CONSUMER.RESET.ALERTS.leafcheck-nl-police',
      '$JS.API.STREAM.MSG.GET.KV_mosaic-keys',
      '$JS.API.DIRECT.GET.KV_mosaic-keys',
      '$JS.API.DIRECT.GET.KV_mosaic-keys.>',
      'mosaic.selectors.evaluate.nl-police',
      'mosaic.holdings.nl-police',
    ]);
    // All attested: the broker names the sending account to ingest, the key service and holdings.
    expect(
      agencyImports('nl-police')
        .filter((i) => i.share)
        .map((i) => i.subject),
    ).toEqual([
      'mosaic.ingest.nl-police',
      'mosaic.selectors.evaluate.nl-police',
      'mosaic.holdings.nl-police',
    ]);
  });

  it('reach all of its own services', () => {
    fc.assert(
      fc.property(label, (a) => {
        for (const subject of privateSubjectsOf(a).filter(
          (s) => !s.includes('CREATE') && !s.startsWith('mosaic.alerts') && !s.startsWith('_INBOX'),
        ))
          expect(
            reach(a).some((p) => subjectsIntersect(p, subject)),
            subject,
          ).toBe(true);
      }),
    );
  });

  it('never reach another agency’s subjects, as a message or a reply, prefixes of each other included', () => {
    fc.assert(
      fc.property(agencyPair, ([a, b]) => {
        for (const subject of reach(a))
          for (const other of privateSubjectsOf(b))
            expect(subjectsIntersect(subject, other), `${a}: ${subject} reaches ${other}`).toBe(
              false,
            );
        for (const permission of granted(agencyPermissions(a)))
          for (const other of privateSubjectsOf(b).filter((s) => s.startsWith('_INBOX')))
            expect(subjectsIntersect(permission, other)).toBe(false);
        expect(findIsolationBreaches([a, b])).toEqual([]);
      }),
      { numRuns: 1000 },
    );
  });

  it('never reach a hub-only subject and hold no wildcard but a trailing > of their own', () => {
    fc.assert(
      fc.property(label, (a) => {
        for (const subject of reach(a)) {
          for (const hub of hubOnly)
            expect(subjectsIntersect(subject, hub), `${subject} reaches ${hub}`).toBe(false);
          const tokens = subject.split('.');
          expect(tokens.slice(0, -1).every((t) => t !== '*' && t !== '>')).toBe(true);
          expect(tokens.at(-1)).not.toBe('*');
        }
      }),
    );
  });

  it('a whole federation of generated ids has no breach', () => {
    fc.assert(
      fc.property(fc.uniqueArray(label, { minLength: 2, maxLength: 12 }), (ids) => {
        expect(findIsolationBreaches(ids)).toEqual([]);
        expect(() => {
          assertAgencyIsolation(ids);
        }).not.toThrow();
      }),
      { numRuns: 200 },
    );
  });

  it.each<[string, (a: string) => { subject: string; localSubject: string }]>([
    [
      'a wildcard consumer',
      () => ({ subject: '$JS.API.CONSUMER.MSG.NEXT.ALERTS.*', localSubject: 'x.next' }),
    ],
    [
      'another agency’s ingest',
      () => ({ subject: 'mosaic.ingest.b', localSubject: 'mosaic.ingest.b' }),
    ],
    [
      'another agency’s selector evaluations',
      () => ({
        subject: 'mosaic.selectors.evaluate.b',
        localSubject: 'mosaic.selectors.evaluate.b',
      }),
    ],
    [
      'another agency’s holdings (registering or checking in its name)',
      () => ({ subject: 'mosaic.holdings.b', localSubject: 'mosaic.holdings.b' }),
    ],
    [
      'every agency’s holdings',
      () => ({ subject: 'mosaic.holdings.*', localSubject: 'mosaic.holdings.*' }),
    ],
    [
      'reads of the holdings bucket',
      () => ({
        subject: '$JS.API.DIRECT.GET.KV_mosaic-holdings.>',
        localSubject: 'x.holdings.>',
      }),
    ],
    [
      'every agency’s selector evaluations',
      () => ({
        subject: 'mosaic.selectors.evaluate.*',
        localSubject: 'mosaic.selectors.evaluate.*',
      }),
    ],
    ['a stream’s subjects', () => ({ subject: 'mosaic.audit', localSubject: 'mosaic.audit' })],
    [
      'another agency’s leaf consumer reset',
      () => ({ subject: '$JS.API.CONSUMER.RESET.ALERTS.leaf-b', localSubject: 'x.reset' }),
    ],
    [
      'another agency’s leaf flow control',
      () => ({ subject: '$JS.FC.ALERTS.leaf-b.>', localSubject: 'x.fc.>' }),
    ],
    [
      'consumer creation on ALERTS for its own leaf (it would choose the deliver subject)',
      () => ({
        subject: '$JS.API.CONSUMER.CREATE.ALERTS.leaf-a.>',
        localSubject: 'x.create.>',
      }),
    ],
    [
      'stream administration',
      () => ({ subject: '$JS.API.STREAM.DELETE.AUDIT', localSubject: 'x.del' }),
    ],
  ])('the model reports an import of %s', (_what, extra) => {
    const breaches = findIsolationBreaches(['a', 'b'], (a) => [
      ...agencyImports(a),
      { name: 'extra', share: false, ...extra(a) },
    ]);
    expect(breaches.some((b) => b.account === 'agency:a' && b.via === 'import')).toBe(true);
  });
});

describe('leaf deliveries (stream imports)', () => {
  it.each([
    ['another agency’s leaf deliveries', 'mosaic.leaf.b.alerts'],
    ['every agency’s leaf deliveries', 'mosaic.leaf.*.alerts'],
    ['the alerts stream’s subjects', 'mosaic.alerts.>'],
  ])('the model reports a stream import of %s', (_what, subject) => {
    const breaches = findIsolationBreaches(['a', 'b'], agencyImports, (a) => [
      ...agencyStreamImports(a),
      { name: 'extra', subject },
    ]);
    expect(breaches).toContainEqual({
      account: 'agency:a',
      via: 'import',
      subject,
      reaches: subject,
      of: 'hub',
    });
  });

  it('an agency imports only its own leaf deliveries', () => {
    expect(agencyStreamImports('nl-police')).toEqual([
      { name: 'leaf-alerts', subject: 'mosaic.leaf.nl-police.alerts' },
    ]);
  });
});

describe('hub service and operator permissions', () => {
  const publish = (s: (typeof HubServices)[keyof typeof HubServices]): readonly string[] =>
    servicePermissions(s).publish.allow;

  it('ingest serves only in its queue group and answers only on broker-made response subjects', () => {
    const p = servicePermissions(HubServices.Ingest);
    expect(p.subscribe.allow).toEqual(['mosaic.ingest.* ingest', '_INBOX_HUB_INGEST.>']);
    expect(p.publish.allow).toEqual(
      expect.arrayContaining(['_R_.>', 'mosaic.reports.>', 'mosaic.rejections.>']),
    );
    expect(p.publish.allow.some((s) => s.startsWith('_INBOX_'))).toBe(false);
    expect(p).not.toHaveProperty('allow_responses');
  });

  it('the selector key service serves only in its queue group, answers only broker-made response subjects and the router, and touches no stream', () => {
    const p = servicePermissions(HubServices.SelectorKeys);
    expect(p.subscribe.allow).toEqual([
      'mosaic.selectors.evaluate.* selector-keys',
      'mosaic.hub.selectors.evaluate selector-keys',
      '_INBOX_HUB_SELECTOR-KEYS.>',
    ]);
    expect(p.publish.allow).toEqual([
      'mosaic.hub.audit.selector-keys',
      '_R_.>',
      '_INBOX_HUB_ROUTER.>',
    ]);
    expect(p).not.toHaveProperty('allow_responses');
  });

  it('the holdings service serves only in its queue group, answers only broker-made response subjects, writes only its bucket and hit alerts', () => {
    const p = servicePermissions(HubServices.Holdings);
    expect(p.subscribe.allow).toEqual(['mosaic.holdings.* holdings', '_INBOX_HUB_HOLDINGS.>']);
    expect(p.publish.allow).toEqual(
      expect.arrayContaining([
        '$KV.mosaic-holdings.>',
        'mosaic.alerts.*.hit.>',
        'mosaic.hub.audit.holdings',
        '_R_.>',
      ]),
    );
    // No report alert, no other stream or bucket, no consumer on ALERTS.
    for (const subject of [
      'mosaic.alerts.a.report.b.r1',
      'mosaic.alerts.a.retraction.b.r1',
      'mosaic.reports.NL.recruitment',
      '$KV.mosaic-registry.agency.a',
      '$KV.mosaic-keys.a.k',
      '$JS.API.CONSUMER.CREATE.ALERTS.alerts-a',
      'mosaic.hub.audit.router',
    ])
      expect(
        p.publish.allow.some((allowed) => subjectsIntersect(allowed, subject)),
        subject,
      ).toBe(false);
    expect(p).not.toHaveProperty('allow_responses');
  });

  it('only the router may ask the key service on the hub’s subject or write the selector index', () => {
    for (const service of Object.values(HubServices))
      for (const subject of ['mosaic.hub.selectors.evaluate', 'mosaic.index.abc'])
        expect(
          publish(service).some((p) => subjectsIntersect(p, subject)),
          `${service}: ${subject}`,
        ).toBe(service === HubServices.Router);
  });

  it('no service may write the registry, delete or purge streams, or publish everywhere', () => {
    for (const service of Object.values(HubServices)) {
      for (const subject of [
        '$KV.mosaic-registry.agency.a',
        '$JS.API.STREAM.DELETE.REPORTS',
        '$JS.API.STREAM.PURGE.AUDIT',
        '$JS.API.STREAM.UPDATE.KV_mosaic-registry',
        '$JS.API.STREAM.MSG.DELETE.REPORTS',
        '$JS.API.CONSUMER.DELETE.ALERTS.alerts-a',
        'anything.else',
      ])
        expect(
          publish(service).some((p) => subjectsIntersect(p, subject)),
          `${service}: ${subject}`,
        ).toBe(false);
    }
  });

  it('only the auditor appends to AUDIT, only the router to ALERTS, only ingest to REPORTS', () => {
    const writers = (subject: string): string[] =>
      Object.values(HubServices).filter((s) =>
        publish(s).some((p) => subjectsIntersect(p, subject)),
      );
    expect(writers('mosaic.audit')).toEqual(['auditor']);
    expect(writers('mosaic.alerts.a.report')).toEqual(['router']);
    expect(writers('mosaic.reports.NL.recruitment')).toEqual(['ingest']);
    expect(writers('mosaic.rejections.a')).toEqual(['ingest']);
  });

  it('only the auditor hands entries to another auditor (recovered ones): no service, the runner, the gateway or the operator', () => {
    const subject = 'mosaic.hub.audit.auditor';
    const others = [
      ...Object.values(HubServices)
        .filter((s) => s !== HubServices.Auditor)
        .map((s) => [s, publish(s)] as const),
      ['hub', hubPermissions().publish.allow] as const,
      ['gateway', gatewayPermissions().publish.allow] as const,
      ['operator', operatorPermissions().publish.allow] as const,
      ['an agency', agencyPermissions('nl-police').publish.allow] as const,
    ];
    for (const [who, allow] of others)
      expect(
        allow.some((p) => subjectsIntersect(p, subject)),
        who,
      ).toBe(false);
    expect(publish(HubServices.Auditor)).toContain(subject);
    // Nor can an import of the operator's or an agency's account reach it.
    for (const i of [...operatorImports(), ...agencyImports('nl-police')])
      expect(subjectsIntersect(i.subject, subject), i.name).toBe(false);
  });

  it('the router creates consumers on ALERTS, its own on REPORTS and registry watchers only', () => {
    const creates = publish(HubServices.Router).filter((p) => p.includes('CREATE'));
    expect(
      creates.every(
        (p) =>
          p.includes('.ALERTS.') ||
          p.includes('.REPORTS.router') ||
          p.includes('.KV_mosaic-registry.'),
      ),
    ).toBe(true);
  });

  it('the routine operator reads and writes the registry but administers no stream and publishes no alert', () => {
    expect(findOperatorBreaches()).toEqual([]);
    const reach = operatorImports().map((i) => i.subject);
    for (const subject of [
      '$JS.API.STREAM.DELETE.AUDIT',
      '$JS.API.STREAM.PURGE.REPORTS',
      '$JS.API.STREAM.UPDATE.AUDIT',
      '$JS.API.STREAM.MSG.DELETE.REPORTS',
      '$JS.API.CONSUMER.CREATE.REPORTS.spy',
      '$JS.API.CONSUMER.DURABLE.CREATE.AUDIT.spy',
      'mosaic.alerts.a.report.b.c',
      'mosaic.audit',
      'mosaic.reports.NL.transport',
    ])
      expect(
        reach.some((p) => subjectsIntersect(p, subject)),
        subject,
      ).toBe(false);
    expect(
      operatorPermissions().publish.allow.every(
        (s) => s.startsWith(HUB_API_PREFIX) || s === 'mosaic.hub.audit.operator',
      ),
    ).toBe(true);
    expect(
      findOperatorBreaches([
        ...operatorImports(),
        { name: 'x', subject: '$JS.API.STREAM.DELETE.*', localSubject: 'x', share: false },
      ]),
    ).not.toEqual([]);
    // Its leader reads are message gets: an import wide enough to delete a message is not.
    expect(reach).toContain('$JS.API.STREAM.MSG.GET.*');
    expect(
      findOperatorBreaches([
        ...operatorImports(),
        { name: 'x', subject: '$JS.API.STREAM.MSG.*.REPORTS', localSubject: 'x', share: false },
      ]).map((b) => b.reaches),
    ).toEqual(['$JS.API.STREAM.MSG.DELETE.>']);
  });
});

describe('isImportedReplySubject', () => {
  it.each<[string | undefined, boolean]>([
    ['_R_.abc.1', true],
    ['_R_.abc', true],
    ['_R_', false],
    ['_R_.', false],
    ['_R_..x', false],
    ['_R_.*', false],
    ['_R_.>', false],
    ['_INBOX_nl.abc', false],
    ['$JS.API.STREAM.DELETE.REPORTS', false],
    [undefined, false],
  ])('%s → %s', (reply, expected) => {
    expect(isImportedReplySubject(reply)).toBe(expected);
  });
});

describe('agencyOfIngestSubject', () => {
  it.each<[string, string | undefined]>([
    ['mosaic.ingest.nl-police', 'nl-police'],
    ['mosaic.ingest.', undefined],
    ['mosaic.ingest', undefined],
    ['mosaic.ingest.nl-police.x', undefined],
    // What a pulled alert carries when a pull names an ingest subject as its reply.
    ['mosaic.alerts.nl-police.report.de-bka.nl-police', undefined],
    ['mosaic.reports.NL.other.nl-police', undefined],
    ['x.ingest.nl-police', undefined],
  ])('%s → %s', (subject, expected) => {
    expect(agencyOfIngestSubject(subject)).toBe(expected);
  });
});
