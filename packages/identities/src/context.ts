import { readFile } from 'node:fs/promises';
import { agencyIdSchema } from '@mosaic/contract';
import { ErrorCode, MosaicError, toIssues } from '@mosaic/errors';
import { NKeysError, encode, fromSeed } from '@nats-io/nkeys';
import { z } from 'zod';
import type { NatsIdentity } from './identities.ts';
import { Roles } from './permissions.ts';
import { agencyInboxPrefix, hubInboxPrefix } from '@mosaic/protocol';

const encoder = new TextEncoder();

/** The `sub` claim of a JWT (undefined when it cannot be read); the signature is the server's to check. */
function jwtSubject(jwt: string): string | undefined {
  const payload = jwt.split('.')[1];
  if (payload === undefined) return undefined;
  try {
    const claims: unknown = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    return typeof claims === 'object' &&
      claims !== null &&
      'sub' in claims &&
      typeof claims.sub === 'string'
      ? claims.sub
      : undefined;
  } catch (err) {
    if (err instanceof SyntaxError) return undefined;
    throw err;
  }
}

/** The contents of `<data-dir>/contexts/<name>.json`: where the hub is and who you are. */
export const contextSchema = z
  .strictObject({
    version: z.literal(1),
    url: z.url({
      protocol: /^(nats|tls|ws|wss)$/,
      message: 'must be a nats://, tls://, ws:// or wss:// URL',
    }),
    role: z.enum(Roles),
    agency: agencyIdSchema.optional(),
    nkeySeed: z.string().regex(/^SU[A-Z2-7]{56}$/, { message: 'must be an NKey user seed (SU…)' }),
    jwt: z.string().regex(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/, {
      message: 'must be a NATS user JWT',
    }),
    inboxPrefix: z.string().regex(/^_INBOX_[A-Za-z0-9_-]+$/, { message: 'must be _INBOX_<name>' }),
  })
  .superRefine((ctx, issues) => {
    const expected =
      ctx.role === Roles.Agency
        ? ctx.agency === undefined
          ? undefined
          : agencyInboxPrefix(ctx.agency)
        : hubInboxPrefix(ctx.role);
    if (ctx.role === Roles.Agency && ctx.agency === undefined)
      issues.addIssue({ code: 'custom', path: ['agency'], message: 'is required for an agency' });
    if (ctx.role !== Roles.Agency && ctx.agency !== undefined)
      issues.addIssue({
        code: 'custom',
        path: ['agency'],
        message: `must be absent for ${ctx.role}`,
      });
    if (expected !== undefined && ctx.inboxPrefix !== expected)
      issues.addIssue({ code: 'custom', path: ['inboxPrefix'], message: `must be ${expected}` });
    try {
      const publicKey = fromSeed(encoder.encode(ctx.nkeySeed)).getPublicKey();
      if (!publicKey.startsWith('U'))
        issues.addIssue({ code: 'custom', path: ['nkeySeed'], message: 'is not a user seed' });
      else if (jwtSubject(ctx.jwt) !== publicKey)
        issues.addIssue({
          code: 'custom',
          path: ['jwt'],
          message: 'is not the user JWT of this seed',
        });
    } catch (err) {
      if (!(err instanceof NKeysError)) throw err;
      issues.addIssue({
        code: 'custom',
        path: ['nkeySeed'],
        message: `is not a valid seed: ${err.message}`,
      });
    }
  });

export type NatsContext = z.output<typeof contextSchema>;

/**
 * The JSON text of a context file for `identity` on the server at `url`. It holds the
 * NKey seed: write it with mode 0600 and never commit or log it.
 *
 * @example
 * ```ts
 * await writeFile(`${dataDir}/contexts/nl-police.json`, contextFile(identity, url), { mode: 0o600 });
 * ```
 */
export function contextFile(identity: NatsIdentity, url: string): string {
  const context: NatsContext = {
    version: 1,
    url,
    role: identity.role,
    ...(identity.agency === undefined ? {} : { agency: identity.agency }),
    nkeySeed: identity.seed,
    jwt: identity.jwt,
    inboxPrefix: identity.inboxPrefix,
  };
  // Validate what we write, so a bad url fails here and not at the agency.
  const parsed = contextSchema.safeParse(context);
  if (!parsed.success)
    throw new MosaicError(ErrorCode.ContextFile, 'cannot write an invalid context', {
      details: {
        issues: toIssues(parsed.error.issues),
      },
    });
  return `${JSON.stringify(context, null, 2)}\n`;
}

/** Parses a context file's text; throws ERR_CONTEXT_FILE. `source` names it in messages. */
export function parseContextFile(text: string, source = 'context'): NatsContext {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    if (!(err instanceof SyntaxError)) throw err;
    throw new MosaicError(ErrorCode.ContextFile, `${source} is not JSON`, {
      details: { path: source },
      cause: err,
    });
  }
  const parsed = contextSchema.safeParse(value);
  if (!parsed.success)
    throw new MosaicError(ErrorCode.ContextFile, `${source} is not a valid context file`, {
      // Issue messages name fields, never values: the seed must not reach a log.
      details: {
        path: source,
        issues: toIssues(parsed.error.issues),
      },
    });
  return parsed.data;
}

/** Reads and parses a context file; throws ERR_CONTEXT_FILE. */
export async function readContextFile(path: string): Promise<NatsContext> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new MosaicError(ErrorCode.ContextFile, `cannot read context file ${path}`, {
      details: { path },
      cause: err,
    });
  }
  return parseContextFile(text, path);
}

/** What `connect()` of `@nats-io/transport-node` needs to connect as a context's identity. */
export interface ContextConnectOptions {
  servers: string;
  inboxPrefix: string;
  name: string;
  authenticator: (nonce?: string) => { nkey: string; sig: string; jwt: string };
  /**
   * True: nats.js builds no Error per request to carry the caller's stack into a possible
   * timeout. Under load that was ~10 % of the hub's CPU (docs/performance.md); Mosaic wraps
   * every request failure in a MosaicError naming the operation anyway.
   */
  noAsyncTraces: boolean;
  /**
   * A server that stops answering while its socket stays open (paused, hung, cut off) is
   * left for another within ~15 s: a PING every `pingInterval` ms, the connection stale
   * after `maxPingOut` unanswered. With nats.js's defaults (2 min, 2) a service attached to a
   * SIGSTOPped node, and every request only it could answer, waited for minutes.
   */
  pingInterval: number;
  maxPingOut: number;
}

/**
 * Connection options for a context: server, the user JWT with NKey challenge signing, and
 * the inbox prefix
 * the broker permissions require (a connection with the default `_INBOX` prefix cannot
 * receive any reply).
 *
 * @example
 * ```ts
 * const nc = await connect(contextConnectOptions(await readContextFile(path)));
 * ```
 */
export function contextConnectOptions(context: NatsContext): ContextConnectOptions {
  const seed = encoder.encode(context.nkeySeed);
  return {
    servers: context.url,
    inboxPrefix: context.inboxPrefix,
    name:
      context.agency === undefined ? `mosaic-${context.role}` : `mosaic-agency-${context.agency}`,
    authenticator: (nonce?: string) => {
      const kp = fromSeed(seed);
      const sig = nonce === undefined ? '' : encode(kp.sign(encoder.encode(nonce)));
      return { nkey: kp.getPublicKey(), sig, jwt: context.jwt };
    },
    noAsyncTraces: true,
    pingInterval: 5_000,
    maxPingOut: 2,
  };
}
