import { execFile } from 'node:child_process';
import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ErrorCode, MosaicError, isMosaicError } from '@mosaic/errors';
import { readContextFile } from '@mosaic/identities';
import {
  ensureNatsServer,
  startNatsServerProcess,
  type NatsServerProcess,
} from '@mosaic/nats-server';
import { AlertHeaders, HIT_ALERT_KIND, alertMsgId } from '@mosaic/protocol';
import type { RoutableReport } from '@mosaic/policy';
import {
  LeafStreams,
  checkLeafAlerts,
  connectAgency,
  ensureLeafStreams,
  forwardOutbox,
  keysFromHub,
  queueSubmission,
  type AgencyClient,
  type LeafAlertsCheck,
  type PublishReply,
} from '@mosaic/sdk';
import { verifyReport } from '@mosaic/signing';
import { freePorts } from '@mosaic/testkit';
import { DeliverPolicy, jetstream, jetstreamManager, type JsMsg } from '@nats-io/jetstream';
import type { FaultCluster } from './cluster.ts';
import { LeafLink, type HostPort } from './link.ts';
import type { Submission } from './load.ts';

const mosaicBin = fileURLToPath(new URL('../../cli/bin/mosaic.js', import.meta.url));
const run = promisify(execFile);
const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * An agency's leaf node: the configuration `mosaic agency leafnode` writes (JetStream domain
 * `leaf-<agency>`, the agency's credentials, a remote listing every hub node), run as a
 * nats-server process of its own, linked to the hub's leafnode ports through a `LeafLink`
 * the harness can cut and slow.
 */
export class AgencyLeaf {
  readonly agency: string;
  readonly dir: string;
  readonly configFile: string;
  /** The agency's context pointed at the leaf (written by the CLI). */
  readonly contextFile: string;
  readonly link: LeafLink;
  server: NatsServerProcess | undefined;
  readonly #binary: string;
  readonly #timeoutMs: number;

  private constructor(o: {
    agency: string;
    dir: string;
    link: LeafLink;
    binary: string;
    timeoutMs: number;
  }) {
    this.agency = o.agency;
    this.dir = o.dir;
    this.configFile = join(o.dir, 'leafnode.conf');
    this.contextFile = join(o.dir, 'context.json');
    this.link = o.link;
    this.#binary = o.binary;
    this.#timeoutMs = o.timeoutMs;
  }

  /** Writes the leaf's configuration with the CLI (relays to every node's leaf port) and starts it. */
  static async start(
    cluster: FaultCluster,
    agency: string,
    hubLeaf: readonly HostPort[],
    timeoutMs: number,
  ): Promise<AgencyLeaf> {
    const dir = join(cluster.dir, `leaf-${agency}`);
    const link = await LeafLink.start(hubLeaf);
    try {
      return await AgencyLeaf.#write(cluster, agency, dir, link, timeoutMs);
    } catch (err) {
      await link[Symbol.asyncDispose]();
      throw err;
    }
  }

  static async #write(
    cluster: FaultCluster,
    agency: string,
    dir: string,
    link: LeafLink,
    timeoutMs: number,
  ): Promise<AgencyLeaf> {
    const [port] = await freePorts(1);
    await run(
      process.execPath,
      [
        mosaicBin,
        'agency',
        'leafnode',
        '--agency',
        agency,
        '--context',
        join(cluster.contextsDir, `${agency}.json`),
        '--hub',
        link.ports.map((p) => `nats-leaf://127.0.0.1:${String(p)}`).join(','),
        '--out',
        dir,
        '--listen',
        `127.0.0.1:${String(port)}`,
      ],
      { timeout: 60_000 },
    );
    const leaf = new AgencyLeaf({
      agency,
      dir,
      link,
      binary: (await ensureNatsServer()).path,
      timeoutMs,
    });
    // Where the harness reads the port it listens on from.
    await appendFile(leaf.configFile, `ports_file_dir: ${JSON.stringify(dir)}\n`);
    return leaf;
  }

  get running(): boolean {
    return this.server?.running === true;
  }

  /** Starts the leaf's nats-server; `onSpawn` sees the child (to watch its exit). */
  async startServer(
    onSpawn: (child: { exitCode: number | null; signalCode: string | null }) => void,
  ): Promise<NatsServerProcess> {
    if (this.server?.running === true) return this.server;
    this.server = await startNatsServerProcess({
      binary: this.#binary,
      configFile: this.configFile,
      portsFileDir: this.dir,
      name: `leaf node of ${this.agency}`,
      startTimeoutMs: this.#timeoutMs,
      onSpawn,
    });
    return this.server;
  }
}

/** One hub answer to a forwarded OUTBOX submission. */
interface Answer {
  reportId: string;
  at: number;
  ok: boolean;
  duplicate: boolean;
}

/** What the agency's applications on the leaf saw; read by the leaf faults. */
export interface LeafFigures {
  /** Hub answers in the order they came. */
  answers: Answer[];
  /**
   * Submissions answered again with another answer than their first (another sequence, or
   * accepted once and refused once): never expected.
   */
  answeredTwice: string[];
  /**
   * Submissions answered again with the same stored sequence, `duplicate: true`: the leaf
   * failed between the hub's answer and its acknowledgement, so the forwarder sent it again.
   */
  answeredAgain: string[];
  /** Queued submissions not answered yet. */
  pending: number;
  /** Alerts read from the leaf's copy that failed verification. */
  invalid: string[];
  /** Errors the forwarder, the queueing or the reader of the copy ended with (each resumed). */
  errors: string[];
}

/**
 * The agency's applications on its leaf node, as the fault load runs them: a publisher that
 * signs each report and queues it in the leaf's OUTBOX (retrying the same bytes until the
 * leaf stored it), `forwardOutbox` sending the queue to the hub (a submission counts as
 * acknowledged when the hub's answer says ok), and a reader of the leaf's copy of the
 * agency's alerts that verifies each one against the hub's keys.
 */
export class LeafAgent {
  readonly agency: string;
  readonly client: AgencyClient;
  readonly figures: LeafFigures = {
    answers: [],
    answeredTwice: [],
    answeredAgain: [],
    pending: 0,
    invalid: [],
    errors: [],
  };
  readonly #submissions: Map<string, Submission>;
  readonly #received: Map<string, number>;
  readonly #report: (n: number) => Record<string, unknown>;
  readonly #paceMs: number;
  /** Queued (stored in OUTBOX), not answered yet. */
  readonly #waiting = new Map<string, Submission>();
  readonly #stop = new AbortController();
  readonly #background: Promise<void>[] = [];

  private constructor(o: {
    client: AgencyClient;
    submissions: Map<string, Submission>;
    received: Map<string, number>;
    report: (n: number) => Record<string, unknown>;
    paceMs: number;
  }) {
    this.agency = o.client.agency;
    this.client = o.client;
    this.#submissions = o.submissions;
    this.#received = o.received;
    this.#report = o.report;
    this.#paceMs = o.paceMs;
  }

  /** Connects to the leaf (its context), creates the leaf's streams, starts forwarding and reading. */
  static async connect(
    leaf: AgencyLeaf,
    o: {
      key: object;
      submissions: Map<string, Submission>;
      received: Map<string, number>;
      report: (n: number) => Record<string, unknown>;
      paceMs: number;
      timeoutMs: number;
    },
  ): Promise<LeafAgent> {
    const client = await connectAgency({
      context: await readContextFile(leaf.contextFile),
      key: o.key,
      timeoutMs: o.timeoutMs,
      // Few retries in the SDK: the OUTBOX is what keeps a submission until the hub answers,
      // and forwardOutbox sends it again (as it must when an outage outlasts any retry).
      retry: { attempts: 2, initialDelayMs: 100, maxDelayMs: 500 },
    });
    await ensureLeafStreams(client.connection, leaf.agency);
    const agent = new LeafAgent({ client, ...o });
    agent.#background.push(agent.#forward(), agent.#read());
    return agent;
  }

  #error(what: string, err: unknown): void {
    if (!(err instanceof Error)) throw err;
    if (this.figures.errors.length < 200) this.figures.errors.push(`${what}: ${err.message}`);
  }

  #answered(reply: PublishReply, jws: string): void {
    const payload = jws.split('.')[1] ?? '';
    const reportId = reply.ok
      ? reply.reportId
      : ((JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { reportId?: string })
          .reportId ?? '');
    const at = Date.now();
    this.figures.answers.push({
      reportId,
      at,
      ok: reply.ok,
      duplicate: reply.ok && reply.duplicate,
    });
    const submission = this.#submissions.get(reportId);
    if (submission === undefined) return;
    if (submission.acked !== undefined || submission.refused !== undefined) {
      const same = reply.ok && reply.duplicate && submission.acked?.seq === reply.seq;
      (same ? this.figures.answeredAgain : this.figures.answeredTwice).push(reportId);
      return;
    }
    if (reply.ok) submission.acked = { seq: reply.seq, at, duplicate: reply.duplicate };
    else submission.refused = { code: reply.code, at };
    this.#waiting.delete(reportId);
    this.figures.pending = this.#waiting.size;
  }

  async #forward(): Promise<void> {
    const signal = this.#stop.signal;
    while (!signal.aborted) {
      try {
        await forwardOutbox(this.client, {
          signal,
          retryDelayMs: 500,
          onReply: (reply, jws) => {
            this.#answered(reply, jws);
          },
        });
        if (this.client.connection.isClosed()) return;
      } catch (err) {
        // The leaf went away (stopped, restarting): resume, as the agency's forwarder would.
        this.#error('forwarding', err);
        await delay(500);
      }
    }
  }

  /** Reads the leaf's ALERTS copy from the start (then onwards) and records each verified alert. */
  async #read(): Promise<void> {
    const signal = this.#stop.signal;
    const keys = keysFromHub(this.client);
    let next = 1;
    while (!signal.aborted) {
      try {
        const consumer = await jetstream(this.client.connection).consumers.get(LeafStreams.Alerts, {
          deliver_policy: DeliverPolicy.StartSequence,
          opt_start_seq: next,
        });
        const messages = await consumer.consume({ max_messages: 256 });
        const close = (): void => {
          void messages.close();
        };
        signal.addEventListener('abort', close, { once: true });
        try {
          for await (const m of messages) {
            await this.#take(m, keys);
            next = m.seq + 1;
          }
        } finally {
          signal.removeEventListener('abort', close);
        }
      } catch (err) {
        this.#error('reading the leaf copy', err);
        await delay(500);
      }
    }
  }

  async #take(m: JsMsg, keys: ReturnType<typeof keysFromHub>): Promise<void> {
    const h = (name: string): string => m.headers?.get(name) ?? '';
    if (h(AlertHeaders.Kind) === HIT_ALERT_KIND) return;
    const issuer = h(AlertHeaders.Issuer);
    const reportId = h(AlertHeaders.ReportId);
    const recipient = h(AlertHeaders.Recipient);
    try {
      const verified = await verifyReport(m.data, keys);
      if (
        recipient !== this.agency ||
        verified.report.issuer !== issuer ||
        verified.report.reportId !== reportId
      ) {
        this.figures.invalid.push(`seq ${String(m.seq)}: headers name another report or recipient`);
        return;
      }
    } catch (err) {
      // The hub's keys not reachable (the link is down): read it again later.
      if (isMosaicError(err, ErrorCode.Unavailable) || !isMosaicError(err)) throw err;
      this.figures.invalid.push(`seq ${String(m.seq)}: ${err.code} ${err.message}`);
      return;
    }
    const id = alertMsgId(issuer, reportId, recipient);
    this.#received.set(id, (this.#received.get(id) ?? 0) + 1);
  }

  /** Queues one signed report in OUTBOX, the same bytes again until the leaf stored it. */
  async #queue(jws: string, reportId: string): Promise<void> {
    while (!this.#stop.signal.aborted) {
      try {
        await queueSubmission(this.client.connection, this.agency, jws, reportId);
        return;
      } catch (err) {
        this.#error('queueing', err);
        await delay(500);
      }
    }
  }

  /** Queues a report every `paceMs` until `signal` aborts. */
  async publish(signal: AbortSignal, first: () => number): Promise<void> {
    while (!signal.aborted) {
      const report = this.#report(first());
      const reportId = report['reportId'] as string;
      const jws = await this.client.sign(report);
      const submission: Submission = {
        reportId,
        issuer: this.agency,
        report: report as unknown as RoutableReport,
        startedAt: Date.now(),
      };
      this.#submissions.set(reportId, submission);
      await this.#queue(jws, reportId);
      if (submission.acked === undefined && submission.refused === undefined)
        this.#waiting.set(reportId, submission);
      this.figures.pending = this.#waiting.size;
      await delay(this.#paceMs);
    }
  }

  /** Waits (bounded) until the hub answered every queued submission. */
  async settled(timeoutMs = 300_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.#waiting.size > 0) {
      if (Date.now() > deadline)
        throw new MosaicError(
          ErrorCode.TestChild,
          `${String(this.#waiting.size)} submissions queued on the leaf of ${this.agency} still unanswered after ${String(timeoutMs / 1000)} s`,
        );
      await delay(200);
    }
  }

  /** The SDK's check of the leaf's copy against the hub, repairing what it lacks. */
  check(repair: boolean): Promise<LeafAlertsCheck> {
    return checkLeafAlerts(this.client.connection, this.agency, { repair, timeoutMs: 120_000 });
  }

  /**
   * What the leaf holds for the forwarder, and the last errors of the agency's applications,
   * in a sentence: for a fault whose queued submissions went unanswered.
   */
  async state(): Promise<string> {
    const errors = this.figures.errors.slice(-5).join(' | ') || 'none';
    try {
      const jsm = await jetstreamManager(this.client.connection);
      const outbox = await jsm.streams.info(LeafStreams.Outbox);
      const forwarder = (await jsm.consumers.list(LeafStreams.Outbox).next())[0];
      const consumer =
        forwarder === undefined
          ? 'no consumer'
          : `consumer ${forwarder.name}: ${String(forwarder.num_pending)} pending, ${String(forwarder.num_ack_pending)} delivered and not acknowledged, ${String(forwarder.num_redelivered)} redelivered, ${String(forwarder.num_waiting)} pulls waiting`;
      return `OUTBOX holds ${String(outbox.state.messages)}; ${consumer}; ${String(this.#waiting.size)} queued and unanswered; last errors: ${errors}`;
    } catch (err) {
      if (!(err instanceof Error)) throw err;
      return `the leaf could not be read (${err.message}); last errors: ${errors}`;
    }
  }

  /** Messages in the leaf's OUTBOX now. */
  async outbox(): Promise<number> {
    const jsm = await jetstreamManager(this.client.connection);
    return (await jsm.streams.info(LeafStreams.Outbox)).state.messages;
  }

  async stop(): Promise<void> {
    this.#stop.abort();
    await Promise.all(this.#background);
    await this.client.close();
  }
}
