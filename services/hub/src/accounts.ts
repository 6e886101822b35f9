import { ErrorCode, MosaicError } from '@mosaic/errors';
import { agencyAccountJwt, type IdentitySet } from '@mosaic/identities';
import type { NatsConnection } from '@nats-io/transport-node';

/** The system-account subject through which a `full` resolver takes account updates. */
const CLAIMS_UPDATE = '$SYS.REQ.CLAIMS.UPDATE';

/**
 * Pushes an account JWT to the servers through the system account: every server of the
 * cluster stores it in its resolver and applies it at once (new accounts can connect,
 * revocations disconnect). Throws ERR_UNAVAILABLE when no server confirms it.
 */
async function pushAccountJwt(system: NatsConnection, jwt: string): Promise<void> {
  let text: string;
  try {
    text = (await system.request(CLAIMS_UPDATE, jwt, { timeout: 5_000 })).string();
  } catch (err) {
    throw new MosaicError(ErrorCode.Unavailable, 'no server took the account update', {
      cause: err,
    });
  }
  const answer = JSON.parse(text) as { data?: { code?: number; message?: string } };
  if (answer.data?.code !== 200)
    throw new MosaicError(
      ErrorCode.Unavailable,
      `the server refused the account update: ${answer.data?.message ?? text}`,
      { details: { answer: answer.data ?? null } },
    );
}

/**
 * Makes the servers' accounts follow the registry: an account for each agency of
 * `agencies`, and every other agency the hub ever knew revoked (its users disconnected).
 */
export async function syncAgencyAccounts(
  system: NatsConnection,
  identities: IdentitySet,
  agencies: readonly string[],
  options: { added: readonly string[]; removed: readonly string[] },
): Promise<void> {
  const now = Math.floor(Date.now() / 1000);
  for (const agency of options.added) {
    const account = identities.accounts.agencies.get(agency);
    if (account !== undefined)
      await pushAccountJwt(system, await agencyAccountJwt(identities.accounts, agency, account));
  }
  for (const agency of options.removed) {
    if (agencies.includes(agency)) continue;
    const account = identities.accounts.agencies.get(agency);
    if (account !== undefined)
      await pushAccountJwt(
        system,
        await agencyAccountJwt(identities.accounts, agency, account, { revokedAt: now }),
      );
  }
}
