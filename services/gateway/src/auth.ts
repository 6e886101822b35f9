import { ErrorCode, MosaicError } from '@mosaic/errors';
import {
  GATEWAY_TOKENS_BUCKET,
  GATEWAY_TOKENS_STREAM,
  gatewayTokenRecordSchema,
  isNoMessage,
  parseGatewayToken,
  tokenMatches,
  type GatewayTokenRecord,
} from '@mosaic/protocol';
import type { JetStreamManager } from '@nats-io/jetstream';

/** Who a request comes from, as the gateway established it. */
export interface Authenticated {
  agency: string;
  tokenId: string;
}

/** Looks up a token's stored record by id (undefined: none, or deleted). */
export type TokenLookup = (id: string) => Promise<GatewayTokenRecord | undefined>;

/** Token records read from the tokens bucket by direct get: a revocation counts at once. */
export function bucketLookup(jsm: JetStreamManager): TokenLookup {
  return async (id) => {
    try {
      const m = await jsm.direct.getMessage(GATEWAY_TOKENS_STREAM, {
        last_by_subj: `$KV.${GATEWAY_TOKENS_BUCKET}.${id}`,
      });
      if (m === null) return undefined;
      const operation = m.header.get('KV-Operation');
      if (operation === 'DEL' || operation === 'PURGE') return undefined;
      const parsed = gatewayTokenRecordSchema.safeParse(m.json());
      return parsed.success && parsed.data.id === id ? parsed.data : undefined;
    } catch (err) {
      if (isNoMessage(err)) return undefined;
      throw err;
    }
  };
}

/** One answer for every failure, so a guess learns nothing about which part was wrong. */
function refused(): MosaicError {
  return new MosaicError(
    ErrorCode.Unauthenticated,
    'a valid gateway token is required: Authorization: Bearer <token>, or Basic with the agency id as user and the token as password',
  );
}

/** The credential an Authorization header presents, or undefined when it presents none usable. */
function presented(header: string): { token: string; user?: string } | undefined {
  const space = header.indexOf(' ');
  if (space < 0) return undefined;
  const scheme = header.slice(0, space).toLowerCase();
  const value = header.slice(space + 1).trim();
  if (scheme === 'bearer') return { token: value };
  if (scheme !== 'basic') return undefined;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(value)) return undefined;
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), token: decoded.slice(colon + 1) };
}

/**
 * The agency an `Authorization` header authenticates: Bearer `<token>`, or Basic
 * `<agency>:<token>` where the token must be that agency's. The token's record must exist,
 * match its digest, be in force at `now`, and name an agency `isMember` still knows.
 * Throws ERR_UNAUTHENTICATED otherwise.
 */
export async function authenticate(
  header: string | undefined,
  lookup: TokenLookup,
  isMember: (agency: string) => boolean,
  now = new Date(),
): Promise<Authenticated> {
  const credential = header === undefined ? undefined : presented(header);
  const parts = credential === undefined ? undefined : parseGatewayToken(credential.token);
  if (credential === undefined || parts === undefined) throw refused();
  const record = await lookup(parts.id);
  if (record === undefined || !tokenMatches(record, parts.secret, now)) throw refused();
  if (credential.user !== undefined && credential.user !== record.agency) throw refused();
  if (!isMember(record.agency)) throw refused();
  return { agency: record.agency, tokenId: record.id };
}
