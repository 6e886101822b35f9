import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HUB_API_PREFIX, ROUTER_CONSUMER, Streams, deliveredSubjectFilter } from '@mosaic/protocol';
import { contextConnectOptions, readContextFile } from '@mosaic/identities';
import { startHub, type Hub } from '@mosaic/hub';
import { createLogger } from '@mosaic/log';
import { connectAgency } from '@mosaic/sdk';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mosaic } from './helpers.ts';

const NGO = 'ngo-lastrada';

/** A GREEN recruitment report of nl-police about NL with a phone: ngo-lastrada's interest. */
function recruitment(lineage?: object) {
  return {
    schemaVersion: '1.0',
    reportId: randomUUID(),
    issuer: 'nl-police',
    issuedAt: new Date(Date.now() - 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    origin: 'NL',
    jurisdictions: ['NL'],
    category: 'recruitment',
    indicators: [{ type: 'phone', number: '+31612345678' }],
    narrative: 'Job offers abroad with debt bondage.',
    grading: { sourceReliability: 'B', informationCredibility: 2, confidence: 70 },
    handling: { tlp: 'GREEN' },
    ...(lineage === undefined ? {} : { lineage }),
  };
}

describe('mosaic rules show|set on a running hub', () => {
  let dir: string;
  let hub: Hub;
  let operator: string;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mosaic-rules-'));
    hub = await startHub({
      dataDir: join(dir, 'data'),
      port: 0,
      log: createLogger({ service: 'hub', level: process.env['MOSAIC_LOG_LEVEL'] ?? 'silent' }),
    });
    operator = join(hub.contextsDir, 'operator.json');
    nc = await connect(contextConnectOptions(await readContextFile(operator)));
    jsm = await jetstreamManager(nc, { apiPrefix: HUB_API_PREFIX, checkAPI: false });
  });
  afterAll(async () => {
    await nc.close();
    await hub.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function applied(revision: number): Promise<void> {
    await expect
      .poll(() => hub.registry.revision(), { timeout: 5_000 })
      .toBeGreaterThanOrEqual(revision);
  }

  /** Publishes as nl-police and waits until the router acked everything in REPORTS. */
  async function publish(report: object): Promise<void> {
    await using agency = await connectAgency({
      context: join(hub.contextsDir, 'nl-police.json'),
      key: join(hub.keysDir, 'nl-police.jwk'),
    });
    const reply = await agency.publish(report);
    expect(reply, JSON.stringify(reply)).toMatchObject({ ok: true });
    await expect
      .poll(
        async () => {
          const info = await jsm.consumers.info(Streams.Reports, ROUTER_CONSUMER);
          return info.num_pending + info.num_ack_pending;
        },
        { timeout: 10_000, interval: 50 },
      )
      .toBe(0);
  }

  async function recipients(report: { issuer: string; reportId: string }): Promise<string[]> {
    const info = await jsm.streams.info(Streams.Alerts, {
      subjects_filter: deliveredSubjectFilter(report.issuer, report.reportId),
    });
    return Object.keys(info.state.subjects ?? {})
      .map((s) => s.split('.')[2]!)
      .sort();
  }

  it('rules show prints the registry rules as a JSON list', async () => {
    const res = await mosaic(['rules', 'show', '--context', operator, '--agency', NGO]);
    expect(res.code, res.stderr).toBe(0);
    expect(JSON.parse(res.stdout)).toEqual(hub.registry.agency(NGO)?.subscriptions);
    expect(JSON.parse(res.stdout)).toMatchObject([{ jurisdictions: ['NL', 'RO'] }]);
    const missing = await mosaic(['rules', 'show', '--context', operator, '--agency', 'xx-none']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/ERR_AGENCY_UNKNOWN/);
  });

  it('rules set refuses invalid rules (exit 1) and an agency context (exit 3), changing nothing', async () => {
    const before = hub.registry.revision();
    const bad = join(dir, 'bad.yaml');
    await writeFile(bad, '- jurisdictions: [NL]\n  categories: [recruitment]\n  maxTlp: PURPLE\n');
    const invalid = await mosaic([
      'rules',
      'set',
      '--reason',
      'test',
      '--context',
      operator,
      '--agency',
      NGO,
      '--file',
      bad,
    ]);
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toMatch(
      /^error ERR_FEDERATION: rules .*bad\.yaml are invalid:\n {2}\[0\]\.maxTlp/,
    );

    const unknownGroup = join(dir, 'group.json');
    await writeFile(
      unknownGroup,
      JSON.stringify([
        { jurisdictions: ['NOWHERE'], categories: ['recruitment'], maxTlp: 'GREEN' },
      ]),
    );
    const conflict = await mosaic([
      'rules',
      'set',
      '--reason',
      'test',
      '--context',
      operator,
      '--agency',
      NGO,
      '--file',
      unknownGroup,
    ]);
    expect(conflict.code).toBe(1);
    expect(conflict.stderr).toMatch(/ERR_FEDERATION/);

    const good = join(dir, 'good.json');
    await writeFile(good, '[]');
    const agency = join(hub.contextsDir, 'de-bka.json');
    for (const argv of [
      ['rules', 'set', '--context', agency, '--agency', NGO, '--file', good, '--reason', 'test'],
      ['rules', 'show', '--context', agency, '--agency', NGO],
    ]) {
      const res = await mosaic(argv);
      expect(res.code, res.stderr).toBe(3);
      expect(res.stderr).toMatch(
        /^error ERR_PERMISSION_DENIED: the broker refused this to agency de-bka's identity/,
      );
    }
    const usage = await mosaic(['rules', 'set', '--context', operator, '--agency', NGO]);
    expect(usage.code).toBe(2);
    expect(hub.registry.revision()).toBe(before);
  });

  it('rules set applies to reports routed afterwards; a retraction still reaches the earlier recipient', async () => {
    const original = recruitment();
    await publish(original);
    expect(await recipients(original)).toContain(NGO);

    const file = join(dir, 'ngo-rules.yaml');
    await writeFile(
      file,
      'subscriptions:\n  - name: only RO advertising\n    jurisdictions: [RO]\n    categories: [online-advertising]\n    maxTlp: GREEN\n',
    );
    const set = await mosaic([
      'rules',
      'set',
      '--reason',
      'test',
      '--context',
      operator,
      '--agency',
      NGO,
      '--file',
      file,
    ]);
    expect(set.code, set.stderr).toBe(0);
    const printed = JSON.parse(set.stdout) as { agency: string; rules: number; revision: number };
    expect(printed).toMatchObject({ agency: NGO, rules: 1 });
    await applied(printed.revision);
    const show = await mosaic(['rules', 'show', '--context', operator, '--agency', NGO]);
    expect(JSON.parse(show.stdout)).toEqual([
      {
        name: 'only RO advertising',
        jurisdictions: ['RO'],
        categories: ['online-advertising'],
        maxTlp: 'GREEN',
      },
    ]);

    const fresh = recruitment();
    await publish(fresh);
    expect(await recipients(fresh)).not.toContain(NGO);
    // Only ngo-lastrada's rules changed.
    expect(await recipients(fresh)).toEqual(
      (await recipients(original)).filter((agency) => agency !== NGO),
    );

    const retraction = recruitment({ retracts: original.reportId });
    await publish(retraction);
    expect(await recipients(retraction)).toEqual(await recipients(original));
    expect(await recipients(original)).toContain(NGO);
  });
});
