import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadFederation } from '@mosaic/federation';
import { brokerAuthConfig, createIdentities } from '@mosaic/identities';
import { ensureNatsServer } from '@mosaic/nats-server';
import { tempDir } from './helpers.ts';
import { parseHubConfig } from '../src/hub-config.ts';
import {
  DEPLOY_CLUSTER_DIR,
  DEPLOY_HOSTS,
  DEPLOY_HUB_DIR,
  renderDeployExamples,
} from '../scripts/deploy-examples.ts';

const federationPath = new URL('../../../deploy/federation.example.yaml', import.meta.url).pathname;
const NODES = ['mosaic-n1', 'mosaic-n2', 'mosaic-n3'] as const;

function natsServerTest(binary: string, config: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve, reject) => {
    execFile(binary, ['-t', '-c', config], (err, stdout, stderr) => {
      const code = err === null ? 0 : err.code;
      if (typeof code === 'number') resolve({ code, out: `${stdout}${stderr}` });
      else reject(new Error('nats-server did not run', { cause: err }));
    });
  });
}

describe('deploy/cluster', () => {
  it('is what mosaic hub init writes for three nodes (regenerate: npx tsx services/hub/scripts/deploy-examples.ts)', async () => {
    const rendered = await renderDeployExamples(federationPath);
    expect([...rendered.keys()].sort()).toEqual(
      [...NODES.map((n) => join('nodes', n, 'nats-server.conf')), 'hub.yaml'].sort(),
    );
    for (const [path, text] of rendered)
      expect(await readFile(join(DEPLOY_CLUSTER_DIR, path), 'utf8'), path).toBe(text);
  });

  it('hub.yaml parses with the hub configuration schema: three servers, R3, health on 127.0.0.1', async () => {
    const file = join(DEPLOY_CLUSTER_DIR, 'hub.yaml');
    const config = parseHubConfig(await readFile(file, 'utf8'), file);
    expect(config.cluster.servers).toEqual(DEPLOY_HOSTS.map((h) => `nats://${h}:4222`));
    expect(config.replicas).toBe(3);
    expect(config.http.host).toBe('127.0.0.1');
    expect(config.contexts.ingest).toBe(join(DEPLOY_CLUSTER_DIR, 'services', 'ingest.json'));
  });

  it('every node config is valid for nats-server -t with its generated accounts part, and a broken one is not', async () => {
    await using dir = await tempDir();
    const binary = (await ensureNatsServer()).path;
    const federation = await loadFederation({ path: federationPath });
    const identities = await createIdentities(federation);
    for (const node of NODES) {
      // In a temporary directory: the full resolver creates its directory even under -t.
      const nodeDir = join(dir.path, node);
      const text = (
        await readFile(join(DEPLOY_CLUSTER_DIR, 'nodes', node, 'nats-server.conf'), 'utf8')
      ).replaceAll(DEPLOY_HUB_DIR, dir.path);
      expect(text).toContain('sync_interval: always');
      await mkdir(nodeDir, { recursive: true });
      const config = join(nodeDir, 'nats-server.conf');
      await writeFile(config, text);
      await writeFile(
        join(nodeDir, 'auth.conf'),
        await brokerAuthConfig(federation, identities, {
          resolverDir: join(nodeDir, 'accounts'),
        }),
      );
      const checked = await natsServerTest(binary, config);
      expect(checked, checked.out).toMatchObject({ code: 0 });
      expect(checked.out).toContain('is valid');

      await writeFile(config, text.replace('sync_interval: always', 'sync_interval: sometimes'));
      const broken = await natsServerTest(binary, config);
      expect(broken.code).not.toBe(0);
      expect(broken.out).toContain('sync_interval');
    }
  });
});
