/**
 * The correlation figures that need a hub: a real single-node hub (`startHub`, as
 * `mosaic dev` runs it, key service and holdings in this process) on a nats-server of its
 * own.
 *
 * - The key service over NATS: de-bka asks for the evaluation of one blinded batch after
 *   the other on its subject, as the SDK does (attestation, quota, audit entry, evaluation
 *   and proof in the service; no proof verification or unblinding on the asking side).
 * - Checking 1,000 selectors: ro-dicot registers 1,000 phone holdings, de-bka checks 1,000
 *   phone numbers of which half are held. Each figure is the wall time of the whole SDK
 *   call: canonical selectors in, blinding, the key service's evaluations and proofs,
 *   unblinding, the holdings requests, hit alerts and audit entries.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHub } from '@mosaic/hub';
import { createLogger } from '@mosaic/log';
import { evaluateAtKeyService, selectorEvaluateSubject } from '@mosaic/protocol';
import { checkSelectors, connectAgency, registerHoldings, selectorKeyInfo } from '@mosaic/sdk';
import { blind } from '@mosaic/selectors';
import type { NatsConnection } from '@nats-io/transport-node';
import { benchPhone } from './oprf.ts';

export interface HoldingsCheckResult {
  selectors: number;
  registerMs: number;
  /** One figure per round. */
  checkMs: number[];
  hitsLastRound: number;
}

export interface KeyServiceResult {
  batch: number;
  batches: number;
  seconds: number;
  /** Blinded elements evaluated per second, one request at a time. */
  evaluationsPerSecond: number;
}

export interface HubCorrelationOptions {
  /** Selectors registered and checked. */
  selectors: number;
  /** Check rounds. */
  rounds: number;
  /** Key-service phase: elements per request, and how long to ask. */
  keyService?: { batch: number; seconds: number };
}

async function keyServiceRate(
  nc: NatsConnection,
  agency: string,
  batch: number,
  seconds: number,
): Promise<KeyServiceResult> {
  const subject = selectorEvaluateSubject(agency);
  const key = await selectorKeyInfo(nc, agency);
  const selectors = Array.from({ length: batch }, (_, i) => benchPhone(73, i));
  const { blinded } = blind(selectors, key.publicKey, { kind: 'phone', epoch: key.epoch });
  const ask = () =>
    evaluateAtKeyService(nc, subject, { kind: 'phone', epoch: key.epoch, blinded }, 30_000);
  const warm = performance.now() + seconds * 250;
  do await ask();
  while (performance.now() < warm);
  let batches = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  let now = start;
  while (now < end) {
    const reply = await ask();
    if (reply.evaluated.length !== batch) throw new Error('the key service evaluated a part');
    batches++;
    now = performance.now();
  }
  return {
    batch,
    batches,
    seconds: Math.round(now - start) / 1000,
    evaluationsPerSecond: Math.round((batches * batch * 1000) / (now - start)),
  };
}

/** Starts a hub, measures, stops it. */
export async function hubCorrelation(
  options: HubCorrelationOptions,
): Promise<{ holdings: HoldingsCheckResult; keyService: KeyServiceResult | null }> {
  const N = options.selectors;
  const dir = await mkdtemp(join(tmpdir(), 'mosaic-bench-holdings-'));
  const hub = await startHub({
    dataDir: dir,
    port: 0,
    log: createLogger({ service: 'hub', level: 'silent' }),
    selectorQuotaPerDay: 1_000_000_000,
  });
  try {
    await using ro = await connectAgency({ context: join(hub.contextsDir, 'ro-dicot.json') });
    await using de = await connectAgency({ context: join(hub.contextsDir, 'de-bka.json') });
    const keyService =
      options.keyService === undefined
        ? null
        : await keyServiceRate(
            de.connection,
            'de-bka',
            options.keyService.batch,
            options.keyService.seconds,
          );
    const holdings = Array.from({ length: N }, (_, i) => ({
      selector: benchPhone(72, 2 * i),
      reference: `ro-${i}`,
    }));
    let start = performance.now();
    await registerHoldings(ro.connection, 'ro-dicot', holdings);
    const registerMs = performance.now() - start;
    const checkMs: number[] = [];
    let hits = 0;
    for (let r = 0; r < options.rounds; r++) {
      // Every other number is held: N/2 hits, N/2 no-hits (and N/2 hit alerts) per round.
      const selectors = Array.from({ length: N }, (_, i) => benchPhone(72, i));
      start = performance.now();
      const { results } = await checkSelectors(de.connection, 'de-bka', selectors);
      checkMs.push(performance.now() - start);
      hits = [...results.values()].filter((x) => x.hit).length;
    }
    return {
      holdings: {
        selectors: N,
        registerMs: Math.round(registerMs),
        checkMs: checkMs.map(Math.round),
        hitsLastRound: hits,
      },
      keyService,
    };
  } finally {
    await hub.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
