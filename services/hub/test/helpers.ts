import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { contextConnectOptions, readContextFile } from '@mosaic/identities';
import { createLogger } from '@mosaic/log';
import { readPrivateKeyFile, signReport } from '@mosaic/signing';
import { connect, type NatsConnection } from '@nats-io/transport-node';

const examples = new URL('../../../schemas/examples/valid/', import.meta.url);

/** A temp dir removed on dispose. */
export async function tempDir(): Promise<AsyncDisposable & { path: string }> {
  const path = await mkdtemp(join(tmpdir(), 'mosaic-hub-test-'));
  return {
    path,
    [Symbol.asyncDispose]: () => rm(path, { recursive: true, force: true }),
  };
}

/** Hub logs stay quiet in tests unless MOSAIC_LOG_LEVEL says otherwise. */
export const quietLog = createLogger({
  service: 'hub',
  level: process.env['MOSAIC_LOG_LEVEL'] ?? 'silent',
});

/** Connects with a context file. */
export async function connectContext(path: string): Promise<NatsConnection> {
  return connect({ ...contextConnectOptions(await readContextFile(path)), timeout: 5_000 });
}

export interface Reply {
  ok: boolean;
  reportId?: string;
  seq?: number;
  duplicate?: boolean;
  code?: string;
  message?: string;
}

/** Signs `report` bytes with the key file and submits them on the agency's connection. */
export async function submit(
  nc: NatsConnection,
  agency: string,
  keyFile: string,
  report: Uint8Array,
): Promise<Reply> {
  const key = await readPrivateKeyFile(keyFile);
  const jws = await signReport(report, key.privateJwk);
  return submitJws(nc, agency, jws);
}

async function submitJws(nc: NatsConnection, agency: string, jws: string): Promise<Reply> {
  const msg = await nc.request(`mosaic.ingest.${agency}`, jws, { timeout: 10_000 });
  return msg.json<Reply>();
}

export async function example(name: string): Promise<Uint8Array> {
  return readFile(new URL(name, examples));
}

/**
 * de-bka's financial-flow example under a new report id (and issuer, when given), issued
 * now (the hub refuses reports older than its maximum age), so a test can publish as many
 * distinct reports as it needs.
 */
export async function freshReport(issuer = 'de-bka', origin = 'DE'): Promise<Uint8Array> {
  const report = JSON.parse(
    new TextDecoder().decode(await example('financial-flow.json')),
  ) as Record<string, unknown>;
  return new TextEncoder().encode(
    JSON.stringify({
      ...report,
      reportId: randomUUID(),
      issuer,
      origin,
      issuedAt: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    }),
  );
}
