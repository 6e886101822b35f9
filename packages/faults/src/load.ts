import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCode, MosaicError, isMosaicError } from '@mosaic/errors';
import type { RoutableReport } from '@mosaic/policy';
import { ingestSubject, parseIngestReply } from '@mosaic/protocol';
import { connectAgency, type AgencyClient, type Alert, type PublishReply } from '@mosaic/sdk';
import type { FaultCluster } from './cluster.ts';
import { LeafAgent } from './leaf.ts';

const example = fileURLToPath(
  new URL('../../../schemas/examples/valid/recruitment-advert.json', import.meta.url),
);

/** The agencies of the demo federation that publish, with the jurisdiction of their reports. */
export const PUBLISHERS = { 'ro-dicot': 'RO', 'nl-police': 'NL', 'de-bka': 'DE' } as const;
/** Every agency of the demo federation reads its alerts. */
export const SUBSCRIBERS = ['nl-police', 'de-bka', 'ro-dicot', 'ngo-lastrada'] as const;

const variants = [
  { category: 'recruitment', tlp: 'GREEN', jurisdictions: ['RO', 'NL', 'DE'] },
  { category: 'recruitment', tlp: 'AMBER', jurisdictions: ['RO', 'NL'] },
  { category: 'transport', tlp: 'AMBER', jurisdictions: ['RO', 'NL', 'DE'] },
  { category: 'financial-flow', tlp: 'AMBER', jurisdictions: ['DE', 'NL'] },
] as const;

/** One submission: when it started, how it ended. */
export interface Submission {
  readonly reportId: string;
  readonly issuer: string;
  readonly report: RoutableReport;
  readonly startedAt: number;
  /** Acknowledged (`ok: true`): the REPORTS sequence and when. */
  acked?: { seq: number; at: number; duplicate: boolean };
  /** Refused with a code (`ok: false`), or the SDK gave up (ERR_UNAVAILABLE): never acked. */
  refused?: { code: string; at: number };
}

export interface LoadOptions {
  /** Submissions in flight per publishing agency. Default 2. */
  inFlight?: number;
  /** Pause between one worker's submissions. Default 20 ms: a steady, not saturating, load. */
  pauseMs?: number;
  /** Stop after this many submissions in all. Default: until `stop()`. */
  max?: number;
  /** The SDK's wait per attempt; default 5 000 ms. */
  timeoutMs?: number;
  /** Pause between the leaf agency's submissions (one queueing worker). Default 1 000 ms. */
  leafPaceMs?: number;
  /**
   * Awaited in each subscriber's handler before the alert counts as handed (a test can hold
   * an alert, so its acknowledgement is sent when it chooses).
   */
  onAlert?: (agency: string, alert: Alert) => Promise<void> | void;
}

/**
 * Steady publish load from the publishing agencies (the SDK: each report signed with the
 * agency's key, transport failures retried with the same bytes) and a subscriber per agency
 * that verifies each alert end to end and acknowledges it after recording it.
 */
export class Load {
  readonly submissions = new Map<string, Submission>();
  /** Alert ids (`<issuer>/<reportId>/<recipient>`) each subscriber was handed, with counts. */
  readonly received = new Map<string, Map<string, number>>();
  /**
   * Subscriptions that ended with an error. `subscribe` promises to ride out a failover
   * within its reconnect timeout, so each one is a violation for the checker; the load
   * resumes it only so that the rest of the check still means something.
   */
  readonly subscriptionsEnded: { at: number; agency: string; error: string }[] = [];
  /**
   * Alerts a subscriber was handed more than once, each with whether the broker marked the
   * later delivery as a redelivery (of an alert whose acknowledgement it never had).
   */
  readonly handedAgain: { id: string; redelivered: boolean }[] = [];
  readonly #cluster: FaultCluster;
  readonly #options: Required<Omit<LoadOptions, 'max' | 'onAlert'>> & { max: number };
  readonly #onAlert: LoadOptions['onAlert'];
  readonly #clients: AgencyClient[] = [];
  readonly #abort = new AbortController();
  #publishing = new AbortController();
  #running: Promise<void>[] = [];
  #subscribing: Promise<void>[] = [];
  #template: Record<string, unknown> | undefined;
  #leaf: LeafAgent | undefined;

  constructor(cluster: FaultCluster, options: LoadOptions = {}) {
    this.#cluster = cluster;
    this.#options = {
      inFlight: options.inFlight ?? 2,
      pauseMs: options.pauseMs ?? 20,
      max: options.max ?? Number.POSITIVE_INFINITY,
      timeoutMs: options.timeoutMs ?? 5_000,
      leafPaceMs: options.leafPaceMs ?? 1_000,
    };
    this.#onAlert = options.onAlert;
  }

  /** Connects the agencies and starts the subscribers; `publish()` starts the publishers. */
  async connect(): Promise<void> {
    this.#template = JSON.parse(await readFile(example, 'utf8')) as Record<string, unknown>;
    const leaf = this.#cluster.leaf;
    for (const agency of SUBSCRIBERS) {
      if (agency === leaf?.agency) {
        // The leaf's agency publishes through its OUTBOX and reads the leaf's copy of its alerts.
        const received = new Map<string, number>();
        this.received.set(agency, received);
        this.#leaf = await LeafAgent.connect(leaf, {
          key: this.#cluster.keys.get(agency) ?? {},
          submissions: this.submissions,
          received,
          report: (n) => this.#report(agency as keyof typeof PUBLISHERS, n),
          paceMs: this.#options.leafPaceMs,
          timeoutMs: this.#options.timeoutMs,
        });
        continue;
      }
      const client = await connectAgency({
        context: join(this.#cluster.contextsDir, `${agency}.json`),
        key: this.#cluster.keys.get(agency) ?? {},
        timeoutMs: this.#options.timeoutMs,
        retry: { attempts: 8, maxDelayMs: 4_000 },
      });
      this.#clients.push(client);
      this.received.set(agency, new Map());
      this.#subscribing.push(this.#subscribe(client));
    }
  }

  async #subscribe(client: AgencyClient): Promise<void> {
    const seen = this.received.get(client.agency) ?? new Map<string, number>();
    const signal = this.#abort.signal;
    while (!signal.aborted) {
      try {
        await client.subscribe(
          async (alert) => {
            await this.#onAlert?.(client.agency, alert);
            const times = (seen.get(alert.id) ?? 0) + 1;
            seen.set(alert.id, times);
            if (times > 1) this.handedAgain.push({ id: alert.id, redelivered: alert.redelivered });
          },
          { follow: true, signal, reconnectTimeoutMs: 300_000 },
        );
      } catch (err) {
        // A failover the subscription did not ride out: recorded for the checker.
        if (!isMosaicError(err) && !(err instanceof Error)) throw err;
        this.subscriptionsEnded.push({ at: Date.now(), agency: client.agency, error: err.message });
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  }

  #report(issuer: keyof typeof PUBLISHERS, n: number): Record<string, unknown> {
    const variant = variants[n % variants.length] ?? variants[0];
    const origin = PUBLISHERS[issuer];
    return {
      ...this.#template,
      reportId: randomUUID(),
      issuer,
      origin,
      issuedAt: new Date().toISOString(),
      category: variant.category,
      jurisdictions: [...new Set([origin, ...variant.jurisdictions])],
      handling: {
        tlp: variant.tlp,
        releasableTo: { jurisdictions: ['RO', 'NL', 'DE'] },
        validFrom: '2025-03-14T09:26:53Z',
        validUntil: '2031-03-14T00:00:00Z',
      },
    };
  }

  /** One submission through the SDK (retries with the same bytes), recorded as it ends. */
  #submit(
    client: AgencyClient,
    issuer: keyof typeof PUBLISHERS,
    n: number,
  ): { submission: Submission; done: Promise<void> } {
    const report = this.#report(issuer, n);
    const reportId = report['reportId'] as string;
    const submission: Submission = {
      reportId,
      issuer,
      report: report as unknown as RoutableReport,
      startedAt: Date.now(),
    };
    this.submissions.set(reportId, submission);
    const done = client.publish(report).then(
      (reply) => {
        if (reply.ok)
          submission.acked = { seq: reply.seq, at: Date.now(), duplicate: reply.duplicate };
        else submission.refused = { code: reply.code, at: Date.now() };
      },
      (err: unknown) => {
        if (!isMosaicError(err)) throw err;
        submission.refused = { code: err.code, at: Date.now() };
      },
    );
    return { submission, done };
  }

  /**
   * `n` submissions started at once, spread over the publishing agencies, besides the steady
   * load: to have requests in flight at a chosen moment. Each is recorded like every other;
   * `firstAcked` settles as soon as one of them is acknowledged (its reply handled, the
   * others' replies not waited for) or all have ended; `done` when all have ended.
   */
  burst(n: number): { submissions: Submission[]; firstAcked: Promise<void>; done: Promise<void> } {
    const publishers = this.#clients.filter((c) => Object.hasOwn(PUBLISHERS, c.agency));
    const started = Array.from({ length: n }, (_, i) => {
      const client = publishers[i % publishers.length];
      if (client === undefined) throw new MosaicError(ErrorCode.Internal, 'no publisher connected');
      return this.#submit(client, client.agency as keyof typeof PUBLISHERS, this.submissions.size);
    });
    const done = Promise.all(started.map((s) => s.done)).then(() => undefined);
    const firstAcked = Promise.race([
      done,
      ...started.map(
        (s) =>
          new Promise<void>((resolve) => {
            void s.done.then(() => {
              if (s.submission.acked !== undefined) resolve();
            });
          }),
      ),
    ]);
    return { submissions: started.map((s) => s.submission), firstAcked, done };
  }

  /** The applications of the agency on a leaf node, when the cluster has one. */
  get leaf(): LeafAgent | undefined {
    return this.#leaf;
  }

  /** Starts (or resumes) the publishers. */
  publish(): void {
    this.#publishing = new AbortController();
    const signal = this.#publishing.signal;
    let n = this.submissions.size;
    if (this.#leaf !== undefined && Object.hasOwn(PUBLISHERS, this.#leaf.agency))
      this.#running.push(this.#leaf.publish(signal, () => n++));
    for (const client of this.#clients) {
      if (!Object.hasOwn(PUBLISHERS, client.agency)) continue;
      const issuer = client.agency as keyof typeof PUBLISHERS;
      for (let w = 0; w < this.#options.inFlight; w++)
        this.#running.push(
          (async () => {
            while (!signal.aborted && this.submissions.size < this.#options.max) {
              await this.#submit(client, issuer, n++).done;
              if (this.#options.pauseMs > 0)
                await new Promise((resolve) => setTimeout(resolve, this.#options.pauseMs));
            }
          })(),
        );
    }
  }

  /**
   * Stops the publishers and waits for every submission in flight to end (with `settle`, the
   * default, also until the hub answered everything the leaf queued).
   */
  async pausePublishing(settle = true): Promise<void> {
    this.#publishing.abort();
    const running = this.#running;
    this.#running = [];
    await Promise.all(running);
    // What the leaf queued is acknowledged once the hub answered it.
    if (settle) await this.#leaf?.settled();
  }

  /** Acknowledged submissions, in the order they were acknowledged. */
  acked(): Submission[] {
    return [...this.submissions.values()]
      .filter((s) => s.acked !== undefined)
      .sort((a, b) => (a.acked?.at ?? 0) - (b.acked?.at ?? 0));
  }

  /**
   * One submission sent once, without the SDK's retries, so the hub's own answer is seen
   * (a retryable refusal included). Recorded like every other submission.
   */
  async probe(issuer: keyof typeof PUBLISHERS = 'ro-dicot'): Promise<PublishReply | undefined> {
    const client = this.#clients.find((c) => c.agency === issuer);
    if (client === undefined)
      throw new MosaicError(ErrorCode.Internal, `${issuer} is not connected`);
    const report = this.#report(issuer, this.submissions.size);
    const reportId = report['reportId'] as string;
    const submission: Submission = {
      reportId,
      issuer,
      report: report as unknown as RoutableReport,
      startedAt: Date.now(),
    };
    this.submissions.set(reportId, submission);
    let msg;
    try {
      msg = await client.connection.request(ingestSubject(issuer), await client.sign(report), {
        timeout: this.#options.timeoutMs,
      });
    } catch (err) {
      // No answer in time: the submission stays undecided, as a client would see it.
      if (err instanceof Error && /timeout|no responders/i.test(err.message)) return undefined;
      throw err;
    }
    const reply = parseIngestReply(msg.data);
    if (reply?.ok === true)
      submission.acked = { seq: reply.seq, at: Date.now(), duplicate: reply.duplicate };
    else if (reply !== undefined) submission.refused = { code: reply.code, at: Date.now() };
    return reply;
  }

  /** Stops publishers and subscribers and closes the connections. */
  async stop(): Promise<void> {
    await this.pausePublishing(false);
    this.#abort.abort();
    await Promise.all(this.#subscribing);
    await this.#leaf?.stop();
    for (const client of this.#clients) await client.close();
  }
}
