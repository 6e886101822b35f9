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
import { LRUCache } from 'lru-cache';

/**
 * Tokens kept for selectors an agency reports again: 16,384 (issuer, selector) pairs, a few
 * MB of phone numbers and addresses, ~20 MB at most with the longest selectors.
 */
const TOKEN_CACHE_ENTRIES = 16_384;
/**
 * How long a kept token is used after the key service last answered under its epoch. A
 * batch whose tokens are all kept asks nothing, so without this a rotated key would go
 * unnoticed for as long as the same selectors kept coming.
 */
export const TOKEN_CACHE_CONFIRM_MS = 5_000;

export interface ReportIndexerOptions {
  /** (issuer, selector) pairs whose tokens are kept (most recently used first); 0 keeps none. */
  cacheEntries?: number;
  /** The clock of the epoch confirmation, in ms; default `performance.now` (monotonic). */
  now?: () => number;
  /**
   * Told of each batch indexed, of its distinct selectors: how many were kept, how many
   * asked of the key service (metrics); must not throw. A batch that fails tells nothing.
   */
  observe?: (kept: number, made: number) => void;
}

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

/** Epochs and agency ids hold no space, so the key names one epoch, issuer and selector. */
const keptKey = (epoch: number, issuer: string, selector: Selector): string =>
  `${String(epoch)} ${issuer} ${selector}`;

/**
 * Makes the tokens of the selectors of stored reports through the selector key service
 * exactly as an agency does — blinded here, the batch proof verified against the service's
 * public key, then unblinded — on the hub's own subject (`mosaic.hub.selectors.evaluate`),
 * and writes the index entries. The reports of one pulled batch share one request per kind
 * (up to `MAX_BATCH` selectors each): one DLEQ proof to make and verify for the lot. The
 * public key is read once, and again when the service names another epoch.
 *
 * A selector an agency reports again (a follow-up, a number in several of its reports) is
 * not tokenised again: the tokens made lately are kept by epoch, issuing agency and selector
 * (`TOKEN_CACHE_ENTRIES`, least recently used dropped first), and used while the key service
 * answered under that epoch in the last `TOKEN_CACHE_CONFIRM_MS`; otherwise every selector
 * of the batch is asked for, which confirms the epoch again or names the new one (and
 * empties the cache). Kept per issuer, not per selector alone: whether a report's selectors
 * are asked for, and so how soon it is routed, depends on its issuer's own earlier reports,
 * never on whether another agency reported the same selector. The router holds nothing it
 * did not hold before: a report in REPORTS and its entries in the index. One batch at a
 * time: `index` is not called again before the previous call settled.
 */
export class ReportIndexer {
  readonly #nc: NatsConnection;
  readonly #js: JetStreamClient;
  readonly #timeoutMs: number;
  #key: Promise<SelectorKeyInfo> | undefined;
  readonly #kept: LRUCache<string, SelectorToken> | undefined;
  readonly #now: () => number;
  readonly #observe: ((kept: number, made: number) => void) | undefined;
  /** The epoch of the key service's last answer, and when it came. */
  #confirmed: { epoch: number; at: number } | undefined;

  constructor(
    nc: NatsConnection,
    js: JetStreamClient,
    timeoutMs: number,
    options: ReportIndexerOptions = {},
  ) {
    this.#nc = nc;
    this.#js = js;
    this.#timeoutMs = timeoutMs;
    const entries = options.cacheEntries ?? TOKEN_CACHE_ENTRIES;
    this.#kept = entries > 0 ? new LRUCache({ max: entries }) : undefined;
    this.#now = options.now ?? (() => performance.now());
    this.#observe = options.observe;
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

  /**
   * The tokens of the selectors of each issuer's reports: kept ones for the selectors this
   * issuer's own reports carried lately, the rest made by the key service. `asked`: the
   * selectors of this batch already made under a key that changed (one retry only).
   */
  async #tokenise(
    reports: readonly { issuer: string; selectors: readonly Selector[] }[],
    asked = 0,
  ): Promise<Map<Selector, SelectorToken>> {
    const tokens = new Map<Selector, SelectorToken>();
    const all = new Set(reports.flatMap((r) => r.selectors));
    if (all.size === 0) return tokens;
    const key = await this.#keyInfo();
    const confirmed = this.#confirmed;
    const fresh =
      confirmed?.epoch === key.epoch && this.#now() - confirmed.at <= TOKEN_CACHE_CONFIRM_MS;
    let epoch = key.epoch;
    const missing = new Set<Selector>();
    for (const { issuer, selectors } of reports)
      for (const selector of selectors) {
        const kept = fresh ? this.#kept?.get(keptKey(key.epoch, issuer, selector)) : undefined;
        if (kept === undefined) missing.add(selector);
        else tokens.set(selector, kept);
      }
    if (missing.size > 0) {
      // Confirmed as of the request, not of its answer: a slow answer does not stretch the window.
      const asking = this.#now();
      const answer = await this.#make([...missing], key);
      epoch = answer.epoch;
      this.#confirmed = { epoch, at: asking };
      for (const [selector, token] of answer.made) tokens.set(selector, token);
      if (epoch !== key.epoch && missing.size < all.size) {
        if (asked > 0)
          throw new MosaicError(
            ErrorCode.Unavailable,
            'the selector key service changed its key epoch twice during one batch',
          );
        // The key changed under the batch: the kept tokens were of the old epoch (the cache
        // is empty now). Keep what was just made under the new one, and make the rest.
        for (const { issuer, selectors } of reports)
          for (const selector of selectors) {
            const made = answer.made.get(selector);
            if (made !== undefined) this.#kept?.set(keptKey(epoch, issuer, selector), made);
          }
        return this.#tokenise(reports, missing.size);
      }
    }
    for (const { issuer, selectors } of reports)
      for (const selector of selectors)
        this.#kept?.set(keptKey(epoch, issuer, selector), tokens.get(selector));
    const made = Math.min(all.size, missing.size + asked);
    this.#observe?.(all.size - made, made);
    return tokens;
  }

  /** Tokens made by the key service, under `key` or, once it names another epoch, the new key. */
  async #make(
    selectors: readonly Selector[],
    key: SelectorKeyInfo,
  ): Promise<{ epoch: number; made: Map<Selector, SelectorToken> }> {
    const evaluate = (batch: EvaluationRequest) =>
      evaluateAtKeyService(this.#nc, HUB_SELECTOR_EVALUATE_SUBJECT, batch, this.#timeoutMs);
    try {
      return { epoch: key.epoch, made: await tokenise(selectors, key, evaluate) };
    } catch (err) {
      if (!isMosaicError(err, ErrorCode.SelectorKeyEpoch)) throw err;
      this.#key = undefined;
      this.#confirmed = undefined;
      this.#kept?.clear();
      const next = await this.#keyInfo();
      return { epoch: next.epoch, made: await tokenise(selectors, next, evaluate) };
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
      const made = await this.#tokenise(
        reports.map((r, i) => ({ issuer: r.report.issuer, selectors: selectors[i] ?? [] })),
      );
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
