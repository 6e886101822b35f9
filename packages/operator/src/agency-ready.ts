import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCode, MosaicError } from '@mosaic/errors';
import { Roles, contextConnectOptions, readContextFile } from '@mosaic/identities';
import { Streams, alertsConsumer } from '@mosaic/protocol';
import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import {
  AuthorizationError,
  ConnectionError,
  TimeoutError,
  connect,
} from '@nats-io/transport-node';
import type { OperatorSession } from './session.ts';

const POLL_MS = 100;

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function errno(err: unknown): string | undefined {
  return err instanceof Error && 'code' in err && typeof err.code === 'string'
    ? err.code
    : undefined;
}

/** True once the hub wrote the agency's context and the broker accepts it. */
async function canConnect(path: string, agency: string): Promise<boolean> {
  try {
    await access(path);
  } catch (err) {
    if (errno(err) === 'ENOENT') return false;
    throw err;
  }
  const context = await readContextFile(path);
  if (context.role !== Roles.Agency || context.agency !== agency)
    throw new MosaicError(ErrorCode.ContextFile, `${path} is not the context of ${agency}`, {
      details: { path, role: context.role, agency: context.agency ?? null },
    });
  try {
    const nc = await connect({
      ...contextConnectOptions(context),
      timeout: 2_000,
      maxReconnectAttempts: 0,
    });
    await nc.close();
    return true;
  } catch (err) {
    // Refused (account not pushed yet) or not reachable right now: asked again.
    if (
      err instanceof AuthorizationError ||
      err instanceof ConnectionError ||
      err instanceof TimeoutError
    )
      return false;
    throw err;
  }
}

/** True once the router created the agency's alerts consumer. */
async function hasConsumer(op: OperatorSession, agency: string): Promise<boolean> {
  try {
    await op.jsm.consumers.info(Streams.Alerts, alertsConsumer(agency));
    return true;
  } catch (err) {
    // Not there yet, or JetStream did not answer in time (a busy or stalled server): asked
    // again until the deadline, which names what is still missing.
    if (
      (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.ConsumerNotFound) ||
      err instanceof TimeoutError
    )
      return false;
    throw new MosaicError(
      ErrorCode.Unavailable,
      `cannot read the alerts consumer of ${agency}: ${(err as Error).message}`,
      { details: { agency }, cause: err },
    );
  }
}

/**
 * Waits (bounded) until an agency just added to the registry can work: the hub wrote its
 * context into `contextsDir` (the hub does so only after the broker took its account) and
 * that context connects, and the router created its alerts consumer. Resolves with the
 * context path; throws ERR_UNAVAILABLE naming what is missing after `timeoutMs`.
 *
 * @example
 * ```ts
 * const { agency } = await op.addAgency(entry, { justification: 'MoU 2026-14' });
 * await waitForAgency(op, agency.id, { contextsDir: '.mosaic/contexts' });
 * ```
 */
export async function waitForAgency(
  op: OperatorSession,
  agency: string,
  options: { contextsDir: string; timeoutMs?: number },
): Promise<{ context: string }> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const context = join(options.contextsDir, `${agency}.json`);
  const deadline = Date.now() + timeoutMs;
  let connects = false;
  let consumer = false;
  for (;;) {
    connects ||= await canConnect(context, agency);
    consumer ||= await hasConsumer(op, agency);
    if (connects && consumer) return { context };
    if (Date.now() >= deadline) break;
    await delay(POLL_MS);
  }
  const missing = [
    ...(connects
      ? []
      : [`no working context ${context} yet (is the hub running on this data dir?)`]),
    ...(consumer
      ? []
      : [`no alerts consumer ${alertsConsumer(agency)} yet (is the router running?)`]),
  ];
  throw new MosaicError(
    ErrorCode.Unavailable,
    `agency ${agency} is in the registry, but the hub did not make it ready within ${String(timeoutMs / 1000)} s: ${missing.join('; ')}`,
    { details: { agency, context, connects, consumer } },
  );
}

/**
 * Waits (bounded) until the hub applied an agency's removal: it revoked the agency's broker
 * account and then deleted its context from `contextsDir`. Throws ERR_UNAVAILABLE after
 * `timeoutMs`.
 */
export async function waitForAgencyGone(
  agency: string,
  options: { contextsDir: string; timeoutMs?: number },
): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const context = join(options.contextsDir, `${agency}.json`);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await access(context);
    } catch (err) {
      if (errno(err) === 'ENOENT') return;
      throw err;
    }
    if (Date.now() >= deadline)
      throw new MosaicError(
        ErrorCode.Unavailable,
        `agency ${agency} is out of the registry, but the hub did not revoke it within ${String(timeoutMs / 1000)} s: ${context} is still there (is the hub running on this data dir?)`,
        { details: { agency, context } },
      );
    await delay(POLL_MS);
  }
}
