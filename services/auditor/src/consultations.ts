import { MAX_ENTRY_BYTES } from '@mosaic/audit-log';
import { Streams, alertsConsumer } from '@mosaic/protocol';
import type { AuditRequest } from '@mosaic/protocol';

/** Ack sample advisory of a consumer (`io.nats.jetstream.metric.v1.consumer_ack`). */
interface AckSample {
  stream?: string;
  consumer?: string;
  consumer_seq?: number;
  stream_seq?: number;
  deliveries?: number;
}

/** Where the broker publishes every ack sample of a consumer on ALERTS. */
export const CONSULTATION_SUBJECT = `$JS.EVENT.METRIC.CONSUMER.ACK.${Streams.Alerts}.>`;
const SUBJECT_PREFIX = CONSULTATION_SUBJECT.slice(0, -1);

/**
 * The most alerts one entry names: each costs at most ~60 bytes (a ref with the largest
 * sequence and its delivery count), so the entry stays under the size `decodeEntry` reads
 * back (an entry the auditor could not read back would stop every auditor at its restart);
 * also below the schema's 10,000 refs.
 */
export const MAX_CONSULTATIONS_PER_ENTRY = Math.floor((MAX_ENTRY_BYTES - 4_096) / 60);

/** One consultation read from an ack sample: who acknowledged which alert. */
interface Consultation {
  recipient: string;
  /** The alert's ALERTS sequence. */
  seq: number;
  /** How often the alert was delivered before this ack (1 unless redelivered). */
  deliveries: number;
}

/**
 * The consultation an ack sample records, or undefined when it is not an ack of an alerts
 * consumer. The recipient is the agency whose `alerts-<agency>` consumer acknowledged, read
 * from the subject the broker published the sample on; a payload naming another consumer
 * or stream than its subject is not trusted for either.
 */
export function readAckSample(subject: string, sample: AckSample): Consultation | undefined {
  if (!subject.startsWith(SUBJECT_PREFIX)) return undefined;
  const consumer = subject.slice(SUBJECT_PREFIX.length);
  const prefix = alertsConsumer('');
  if (
    !consumer.startsWith(prefix) ||
    consumer.length === prefix.length ||
    sample.consumer !== consumer ||
    (sample.stream !== undefined && sample.stream !== Streams.Alerts)
  )
    return undefined;
  const seq = sample.stream_seq;
  if (seq === undefined || !Number.isSafeInteger(seq) || seq < 1) return undefined;
  const deliveries =
    sample.deliveries !== undefined && Number.isSafeInteger(sample.deliveries)
      ? Math.max(1, sample.deliveries)
      : 1;
  return { recipient: consumer.slice(prefix.length), seq, deliveries };
}

/**
 * The `alert.consulted` entry of one recipient's window: refs are the ALERTS sequences it
 * acknowledged, ascending, each once; `details.deliveries` the delivery count of each, in
 * the same order.
 */
function consultationEntry(recipient: string, acked: ReadonlyMap<number, number>): AuditRequest {
  const seqs = [...acked.keys()].sort((a, b) => a - b);
  return {
    actor: { kind: 'agency', id: recipient },
    action: 'alert.consulted',
    recipients: [{ agency: recipient }],
    refs: seqs.map((seq) => ({ stream: Streams.Alerts, seq })),
    details: { deliveries: seqs.map((seq) => acked.get(seq) ?? 1) },
  };
}

interface Window {
  /** ALERTS seq → deliveries, in arrival order. */
  acked: Map<number, number>;
  timer: NodeJS.Timeout;
}

/**
 * Collects consultations per recipient for a short window and hands over one
 * `alert.consulted` entry per recipient and window: written `ms` after the window's first
 * sample, or as soon as it holds `samples` alerts, whichever first. A window holds one
 * agency's acks only, so an entry never mixes agencies. `flush()` hands over every open
 * window at once (on stop: nothing sampled is dropped).
 */
export class ConsultationWindows {
  readonly #ms: number;
  readonly #samples: number;
  readonly #write: (request: AuditRequest, consulted: number) => void;
  readonly #open = new Map<string, Window>();
  #held = 0;

  constructor(
    window: { ms: number; samples: number },
    write: (request: AuditRequest, consulted: number) => void,
  ) {
    this.#ms = Math.max(0, window.ms);
    this.#samples = Math.min(MAX_CONSULTATIONS_PER_ENTRY, Math.max(1, Math.floor(window.samples)));
    this.#write = write;
  }

  /** Alerts acknowledged but not yet handed over as an entry. */
  get held(): number {
    return this.#held;
  }

  add({ recipient, seq, deliveries }: Consultation): void {
    let open = this.#open.get(recipient);
    if (open === undefined) {
      const timer = setTimeout(() => {
        this.#close(recipient);
      }, this.#ms);
      open = { acked: new Map(), timer };
      this.#open.set(recipient, open);
    }
    const before = open.acked.get(seq);
    // The same alert twice in one window (a repeated ack sample) is one consultation.
    if (before === undefined) this.#held++;
    open.acked.set(seq, Math.max(before ?? 0, deliveries));
    if (open.acked.size >= this.#samples) this.#close(recipient);
  }

  /** Hands over every open window now. */
  flush(): void {
    for (const recipient of [...this.#open.keys()]) this.#close(recipient);
  }

  #close(recipient: string): void {
    const open = this.#open.get(recipient);
    if (open === undefined) return;
    clearTimeout(open.timer);
    this.#open.delete(recipient);
    this.#held -= open.acked.size;
    this.#write(consultationEntry(recipient, open.acked), open.acked.size);
  }
}
