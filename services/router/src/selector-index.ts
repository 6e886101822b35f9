import type { Report } from '@mosaic/contract';
import { ErrorCode, MosaicError, isMosaicError } from '@mosaic/errors';
import {
  HUB_SELECTOR_EVALUATE_SUBJECT,
  appendIndexEntries,
  evaluateAtKeyService,
  keyServiceKey,
} from '@mosaic/protocol';
import {
  selectorKind,
  selectorsOf,
  tokenise,
  type EvaluationRequest,
  type Selector,
  type SelectorKeyInfo,
  type SelectorToken,
} from '@mosaic/selectors';
import type { JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';

/** The tokens of one report's selectors, each with its selector's kind. */
export type ReportTokens = readonly { token: string; kind: string }[];

/** A stored report about to be routed, as the indexer needs it. */
export interface StoredReport {
  report: Report;
  /** Its REPORTS sequence. */
  seq: number;
  /** When REPORTS stored it. */
  storedAt: Date;
}

/**
 * Makes the tokens of the selectors of stored reports through the selector key service
 * exactly as an agency does — blinded here, the batch proof verified against the service's
 * public key, then unblinded — on the hub's own subject (`mosaic.hub.selectors.evaluate`),
 * and writes the index entries. The reports of one pulled batch share one request per kind
 * (up to `MAX_BATCH` selectors each): one DLEQ proof to make and verify for the lot. The
 * public key is read once, and again when the service names another epoch.
 */
export class ReportIndexer {
  readonly #nc: NatsConnection;
  readonly #js: JetStreamClient;
  readonly #timeoutMs: number;
  #key: Promise<SelectorKeyInfo> | undefined;

  constructor(nc: NatsConnection, js: JetStreamClient, timeoutMs: number) {
    this.#nc = nc;
    this.#js = js;
    this.#timeoutMs = timeoutMs;
  }

  #keyInfo(): Promise<SelectorKeyInfo> {
    this.#key ??= keyServiceKey(this.#nc, HUB_SELECTOR_EVALUATE_SUBJECT, this.#timeoutMs).catch(
      (err: unknown) => {
        this.#key = undefined;
        throw err;
      },
    );
    return this.#key;
  }

  async #tokenise(selectors: readonly Selector[]): Promise<Map<Selector, SelectorToken>> {
    if (selectors.length === 0) return new Map();
    const evaluate = (batch: EvaluationRequest) =>
      evaluateAtKeyService(this.#nc, HUB_SELECTOR_EVALUATE_SUBJECT, batch, this.#timeoutMs);
    try {
      return await tokenise(selectors, await this.#keyInfo(), evaluate);
    } catch (err) {
      if (!isMosaicError(err, ErrorCode.SelectorKeyEpoch)) throw err;
      this.#key = undefined;
      return tokenise(selectors, await this.#keyInfo(), evaluate);
    }
  }

  /**
   * The tokens of each report's selectors, in the order of `reports`, with every report's
   * entries stored in the index when it resolves. Idempotent: the same report indexed again
   * gives the same tokens and entries (msg id per token and report). Any failure (key service
   * unreachable or refusing, a wrong proof, the index not written) is ERR_UNAVAILABLE: the
   * batch is routed again later.
   */
  async index(reports: readonly StoredReport[]): Promise<ReportTokens[]> {
    try {
      const selectors = reports.map((r) => selectorsOf(r.report).selectors);
      const made = await this.#tokenise(selectors.flat());
      const tokens = selectors.map((of) =>
        of.map((s) => ({ token: made.get(s) as string, kind: selectorKind(s) })),
      );
      await Promise.all(
        reports.map((r, i) =>
          appendIndexEntries(this.#js, tokens[i] ?? [], {
            issuer: r.report.issuer,
            reportId: r.report.reportId,
            seq: r.seq,
            tlp: r.report.handling.tlp,
            storedAt: r.storedAt.toISOString(),
          }),
        ),
      );
      return tokens;
    } catch (err) {
      throw new MosaicError(
        ErrorCode.Unavailable,
        `the selector index is unavailable: ${err instanceof Error ? err.message : String(err)}`,
        { details: { operation: 'selector index' }, cause: err },
      );
    }
  }
}
