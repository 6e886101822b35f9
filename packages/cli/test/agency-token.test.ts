import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeEntry } from '@mosaic/audit-log';
import { startHub, type Hub } from '@mosaic/hub';
import { contextConnectOptions, readContextFile } from '@mosaic/identities';
import { createLogger } from '@mosaic/log';
import {
  GATEWAY_TOKENS_BUCKET,
  GATEWAY_TOKENS_STREAM,
  HUB_API_PREFIX,
  Streams,
  gatewayTokenRecordSchema,
  parseGatewayToken,
  readStream,
  tokenMatches,
} from '@mosaic/protocol';
import { connectOperator } from '@mosaic/operator';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { Kvm } from '@nats-io/kv';
import { mosaic } from './helpers.ts';

let dir: string;
let hub: Hub;
let operator: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mosaic-token-'));
  hub = await startHub({
    dataDir: join(dir, 'data'),
    port: 0,
    log: createLogger({ service: 'hub', level: process.env['MOSAIC_LOG_LEVEL'] ?? 'silent' }),
  });
  operator = join(hub.contextsDir, 'operator.json');
});

afterAll(async () => {
  await hub.stop();
  await rm(dir, { recursive: true, force: true });
});

/** The stored record of a token id, read as the operator. */
async function stored(id: string) {
  await using op = await connectOperator(operator);
  const kv = await new Kvm(jetstream(op.nc, { apiPrefix: HUB_API_PREFIX })).open(
    GATEWAY_TOKENS_BUCKET,
  );
  const entry = await kv.get(id);
  return entry === null ? undefined : gatewayTokenRecordSchema.parse(entry.json());
}

/** The audit entries with this action. */
async function auditOf(action: string) {
  await using op = await connectOperator(operator);
  const out = [];
  for await (const m of readStream(op.jsm, Streams.Audit)) {
    const entry = decodeEntry(m.data);
    if (entry.action === action) out.push(entry);
  }
  return out;
}

describe('mosaic agency token', () => {
  it('prints a 256-bit token once, stores only its digest, and audits issue and revoke', async () => {
    const issued = await mosaic([
      'agency',
      'token',
      'issue',
      '--context',
      operator,
      '--agency',
      'nl-police',
      '--name',
      'case system',
      '--reason',
      'MoU annex B',
    ]);
    expect(issued.stderr).toBe('');
    expect(issued.code).toBe(0);
    const out = JSON.parse(issued.stdout) as { id: string; token: string; agency: string };
    expect(out.agency).toBe('nl-police');
    const parts = parseGatewayToken(out.token);
    expect(parts?.id).toBe(out.id);
    expect(Buffer.from(parts?.secret ?? '', 'base64url')).toHaveLength(32);

    const record = await stored(out.id);
    expect(record).toMatchObject({ id: out.id, agency: 'nl-police', name: 'case system' });
    expect(JSON.stringify(record)).not.toContain(parts?.secret);
    expect(record && tokenMatches(record, parts?.secret ?? '', new Date())).toBe(true);

    const listed = await mosaic(['agency', 'token', 'list', '--context', operator]);
    expect(listed.code).toBe(0);
    expect(listed.stdout).not.toContain(parts?.secret);
    expect(listed.stdout).not.toContain('hash');
    expect(
      listed.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as object),
    ).toContainEqual(
      expect.objectContaining({ id: out.id, agency: 'nl-police', name: 'case system' }),
    );

    const [issuedEntry] = (await auditOf('gateway.token.issued')).filter(
      (e) => e.details?.['tokenId'] === out.id,
    );
    expect(issuedEntry).toMatchObject({
      actor: { kind: 'operator' },
      justification: 'MoU annex B',
      details: { agency: 'nl-police', tokenId: out.id },
    });
    expect(JSON.stringify(issuedEntry)).not.toContain(parts?.secret);

    // Another agency cannot revoke it under its own name.
    const wrong = await mosaic([
      'agency',
      'token',
      'revoke',
      '--context',
      operator,
      '--agency',
      'de-bka',
      '--id',
      out.id,
      '--reason',
      'test',
    ]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('ERR_TOKEN_UNKNOWN');

    const revoked = await mosaic([
      'agency',
      'token',
      'revoke',
      '--context',
      operator,
      '--agency',
      'nl-police',
      '--id',
      out.id,
      '--reason',
      'decommissioned',
    ]);
    expect(revoked.stderr).toBe('');
    expect(revoked.code).toBe(0);
    const after = await stored(out.id);
    expect(after?.revokedAt).toBeDefined();
    expect(after && tokenMatches(after, parts?.secret ?? '', new Date())).toBe(false);
    expect(
      (await auditOf('gateway.token.revoked')).filter((e) => e.details?.['tokenId'] === out.id),
    ).toHaveLength(1);
  });

  it('refuses an unknown agency and a missing reason', async () => {
    const unknown = await mosaic([
      'agency',
      'token',
      'issue',
      '--context',
      operator,
      '--agency',
      'xx-nobody',
      '--reason',
      'test',
    ]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('ERR_AGENCY_UNKNOWN');
    const noReason = await mosaic([
      'agency',
      'token',
      'issue',
      '--context',
      operator,
      '--agency',
      'nl-police',
    ]);
    expect(noReason.code).toBe(2);
  });

  it("keeps the tokens bucket out of an agency's reach", async () => {
    const context = await readContextFile(join(hub.contextsDir, 'nl-police.json'));
    const nc = await connect({ ...contextConnectOptions(context), maxReconnectAttempts: 0 });
    try {
      const jsm = await jetstreamManager(nc, {
        apiPrefix: HUB_API_PREFIX,
        timeout: 2_000,
        checkAPI: false,
      });
      await expect(jsm.streams.info(GATEWAY_TOKENS_STREAM)).rejects.toThrow();
      await expect(
        jsm.direct.getMessage(GATEWAY_TOKENS_STREAM, {
          last_by_subj: `$KV.${GATEWAY_TOKENS_BUCKET}.>`,
        }),
      ).rejects.toThrow();
    } finally {
      await nc.close();
    }
  });
});
