import {
  GATEWAY_TOKENS_BUCKET,
  GATEWAY_TOKENS_STREAM,
  HUB_API_PREFIX,
  gatewayTokenRecordSchema,
  directBatch,
  newGatewayToken,
  type GatewayTokenRecord,
} from '@mosaic/protocol';
import { ErrorCode, MosaicError } from '@mosaic/errors';
import { jetstream } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import type { OperatorSession } from './session.ts';

/** A gateway token as listed: its record without the digest. */
export type GatewayTokenInfo = Omit<GatewayTokenRecord, 'hash'>;

function info(record: GatewayTokenRecord): GatewayTokenInfo {
  return Object.fromEntries(
    Object.entries(record).filter(([key]) => key !== 'hash'),
  ) as GatewayTokenInfo;
}

function openTokens(op: OperatorSession): Promise<KV> {
  // The operator's account reaches the hub's KV API under HUB_API_PREFIX only.
  return new Kvm(jetstream(op.nc, { apiPrefix: HUB_API_PREFIX })).open(GATEWAY_TOKENS_BUCKET);
}

function requireJustification(value: string): string {
  if (value.trim() === '')
    throw new MosaicError(
      ErrorCode.Usage,
      'a justification is required for every operator action (--reason "<why>")',
    );
  return value;
}

/**
 * Issues an HTTP gateway token for an agency of the registry: 256 random bits, stored only
 * as a digest in the tokens bucket, recorded as `gateway.token.issued` (token id, never
 * the token). Returns the token — the only time it exists outside the caller's hands. When
 * the audit entry cannot be written the token is revoked again and the error thrown: no
 * credential is in force without its entry.
 *
 * @example
 * ```ts
 * const { token } = await issueGatewayToken(op, { agency: 'nl-police', justification: 'case system' });
 * ```
 */
export async function issueGatewayToken(
  op: OperatorSession,
  options: { agency: string; name?: string; expiresAt?: string; justification: string },
): Promise<{ token: string; record: GatewayTokenInfo; revision: number }> {
  const justification = requireJustification(options.justification);
  await op.agency(options.agency);
  const { token, record } = newGatewayToken(options.agency, {
    ...(options.name === undefined ? {} : { name: options.name }),
    ...(options.expiresAt === undefined ? {} : { expiresAt: options.expiresAt }),
  });
  const kv = await openTokens(op);
  const revision = await kv.create(record.id, JSON.stringify(record));
  try {
    await op.record('gateway.token.issued', {
      justification,
      refs: [{ stream: GATEWAY_TOKENS_STREAM, seq: revision }],
      details: {
        agency: record.agency,
        tokenId: record.id,
        ...(record.name === undefined ? {} : { name: record.name }),
        ...(record.expiresAt === undefined ? {} : { expiresAt: record.expiresAt }),
      },
    });
  } catch (err) {
    const revoked = { ...record, revokedAt: record.createdAt };
    await kv.update(record.id, JSON.stringify(revoked), revision);
    throw err;
  }
  return { token, record: info(record), revision };
}

/**
 * Revokes a token of an agency from now on (its entry stays, with `revokedAt`), recorded as
 * `gateway.token.revoked`. ERR_TOKEN_UNKNOWN when the agency has no token with that id.
 * Revoking a revoked token changes nothing and records nothing.
 */
export async function revokeGatewayToken(
  op: OperatorSession,
  options: { agency: string; id: string; justification: string; now?: Date },
): Promise<{ record: GatewayTokenInfo; revision: number }> {
  const justification = requireJustification(options.justification);
  const kv = await openTokens(op);
  const unknown = new MosaicError(
    ErrorCode.TokenUnknown,
    `agency ${options.agency} has no gateway token ${options.id}`,
    { details: { agency: options.agency, tokenId: options.id } },
  );
  const entry = /^[0-9a-f]{16}$/.test(options.id) ? await kv.get(options.id) : null;
  if (entry === null || entry.operation !== 'PUT') throw unknown;
  const record = gatewayTokenRecordSchema.parse(entry.json());
  if (record.agency !== options.agency) throw unknown;
  if (record.revokedAt !== undefined) return { record: info(record), revision: entry.revision };
  const revoked = { ...record, revokedAt: (options.now ?? new Date()).toISOString() };
  const revision = await kv.update(record.id, JSON.stringify(revoked), entry.revision);
  await op.record('gateway.token.revoked', {
    justification,
    refs: [{ stream: GATEWAY_TOKENS_STREAM, seq: revision }],
    details: { agency: record.agency, tokenId: record.id },
  });
  return { record: info(revoked), revision };
}

/** Every gateway token (revoked and expired ones too), without digests, by agency then id. */
export async function listGatewayTokens(op: OperatorSession): Promise<GatewayTokenInfo[]> {
  const out: GatewayTokenInfo[] = [];
  // kv.keys() would create a consumer, which the operator's account cannot.
  for (const m of await directBatch(op.jsm, GATEWAY_TOKENS_STREAM, {
    multi_last: [`$KV.${GATEWAY_TOKENS_BUCKET}.>`],
  })) {
    const operation = m.header?.get('KV-Operation') ?? '';
    if (operation === 'DEL' || operation === 'PURGE') continue;
    out.push(info(gatewayTokenRecordSchema.parse(m.json())));
  }
  return out.sort((a, b) => a.agency.localeCompare(b.agency) || a.id.localeCompare(b.id));
}
