import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '@mosaic/errors';
import {
  HUB_CONFIG_JSON_SCHEMA_ID,
  generateHubConfigJsonSchema,
  hubConfigSchema,
} from '../src/index.ts';
import { parseHubConfig } from '../src/hub-config.ts';

const committed = new URL('../../../schemas/hub-config.schema.json', import.meta.url);

const valid = {
  version: 1,
  cluster: {
    servers: ['nats://a:4222', 'nats://b:4222', 'nats://c:4222'],
    monitoring: ['http://a:8222', 'http://b:8222', 'http://c:8222'],
  },
  contexts: {
    ingest: 'services/ingest.json',
    router: 'services/router.json',
    auditor: 'services/auditor.json',
    hub: 'services/hub.json',
    system: '/etc/mosaic/system.json',
  },
  identities: 'identities.json',
  federation: 'federation.yaml',
  hubKey: 'hub.jwk',
  hubJwks: 'hub.jwks',
};

describe('hub.yaml', () => {
  it('has its JSON Schema committed and up to date (regenerate: npm run schemas)', () => {
    expect(readFileSync(committed, 'utf8')).toBe(generateHubConfigJsonSchema());
    const schema = JSON.parse(generateHubConfigJsonSchema()) as { $id: string };
    expect(schema.$id).toBe(HUB_CONFIG_JSON_SCHEMA_ID);
  });

  it('resolves paths against its directory and defaults to 3 replicas on 3 servers, loopback health', () => {
    const c = parseHubConfig(JSON.stringify(valid), '/srv/hub/hub.yaml');
    expect(c.contexts.ingest).toBe('/srv/hub/services/ingest.json');
    expect(c.contexts.system).toBe('/etc/mosaic/system.json');
    expect(c.replicas).toBe(3);
    expect(c.http).toEqual({ host: '127.0.0.1', port: 9464 });
    // The holdings identity and correlation default to what hub init writes.
    expect(c.contexts.holdings).toBe('/srv/hub/services/holdings.json');
    expect(c.correlation).toBe(true);
    expect(
      parseHubConfig(JSON.stringify({ ...valid, correlation: false }), 'h.yaml').correlation,
    ).toBe(false);
    const one = parseHubConfig(
      JSON.stringify({
        ...valid,
        cluster: { servers: ['nats://a:4222'], monitoring: ['http://a:8222'] },
      }),
      'hub.yaml',
    );
    expect(one.replicas).toBe(1);
  });

  it('refuses more replicas than servers, a missing monitoring endpoint and unknown keys', () => {
    const bad = [
      { ...valid, cluster: { ...valid.cluster, replicas: 5 } },
      { ...valid, cluster: { ...valid.cluster, monitoring: ['http://a:8222'] } },
      { ...valid, extra: true },
    ];
    for (const value of bad) {
      expect(hubConfigSchema.safeParse(value).success).toBe(false);
      expect(() => parseHubConfig(JSON.stringify(value), 'hub.yaml')).toThrow(
        expect.objectContaining({ code: ErrorCode.HubConfig }) as Error,
      );
    }
  });
});
