/**
 * How long one append to AUDIT takes on an otherwise idle nats-server, by the way it is
 * written: one publish expecting the last sequence (what the auditor sends for a batch of
 * one entry), one atomic batch of 2 or 8 (what it sends for more), and, for comparison,
 * 2 or 8 publishes sent back to back, each expecting the sequence of the one before. The
 * AUDIT stream's own configuration, ~600-byte entries, one append at a time (the auditor
 * has one batch in flight), fsync default and always. Prints p50 / p99 in ms and
 * nats-server's CPU time per append, and writes JSON to the file given.
 *
 *   npx tsx services/auditor/bench/append-latency.ts [result.json] [--rounds 500]
 */
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { StreamSubjects, Streams, streamConfigs } from '@mosaic/protocol';
import { startServer } from '@mosaic/testkit';
import { PubHeaders, jetstream, jetstreamManager, type PubAck } from '@nats-io/jetstream';
import { connect, headers, nuid } from '@nats-io/transport-node';
import { cpuMs } from '../../../bench/lib/proc.ts';
import { percentiles } from '../../../bench/lib/stats.ts';
import { BatchHeaders } from '../src/auditor.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { rounds: { type: 'string', default: '500' } },
});
const BLOCK = 25;
const rounds = Math.ceil(Number(values.rounds) / BLOCK) * BLOCK;
const ENTRY = new Uint8Array(600).fill(0x61);
const config = streamConfigs()[Streams.Audit];
const subject = StreamSubjects[Streams.Audit];

interface Way {
  p50: number;
  p99: number;
  /** nats-server's user + system CPU time per append (the whole batch), µs. */
  serverCpuUsPerAppend: number;
}

async function measure(syncAlways: boolean): Promise<Record<string, Way>> {
  await using server = await startServer({ jetstream: true, syncAlways });
  const nc = await connect({ servers: server.url });
  try {
    await (await jetstreamManager(nc)).streams.add(config);
    const js = jetstream(nc);
    let last = 0;
    const single = async (): Promise<void> => {
      last = (await js.publish(subject, ENTRY, { expect: { lastSequence: last } })).seq;
    };
    const atomic = async (n: number): Promise<void> => {
      const id = nuid.next();
      let reply;
      for (let i = 0; i < n; i++) {
        const h = headers();
        h.set(BatchHeaders.Id, id);
        h.set(BatchHeaders.Sequence, String(i + 1));
        if (i === 0) h.set(PubHeaders.ExpectedLastSeqHdr, String(last));
        if (i < n - 1) nc.publish(subject, ENTRY, { headers: h });
        else {
          h.set(BatchHeaders.Commit, '1');
          reply = await nc.request(subject, ENTRY, { headers: h, timeout: 5_000 });
        }
      }
      const ack = reply?.json<{ seq?: number; error?: unknown }>();
      if (ack?.seq === undefined) throw new Error(`atomic batch refused: ${JSON.stringify(ack)}`);
      last = ack.seq;
    };
    const pipelined = async (n: number): Promise<void> => {
      const acks: Promise<PubAck>[] = [];
      for (let i = 0; i < n; i++)
        acks.push(js.publish(subject, ENTRY, { expect: { lastSequence: last + i } }));
      last = (await Promise.all(acks)).at(-1)?.seq ?? last;
    };
    const ways: Record<string, () => Promise<void>> = {
      'one publish': single,
      'atomic batch of 2': () => atomic(2),
      'atomic batch of 8': () => atomic(8),
      '2 publishes back to back': () => pipelined(2),
      '8 publishes back to back': () => pipelined(8),
    };
    for (const append of Object.values(ways)) for (let r = 0; r < 20; r++) await append();
    const samples: Record<string, number[]> = {};
    const serverCpuMs: Record<string, number> = {};
    // Blocks of 25 appends of each way in turn, so a change in the machine's load touches
    // every way alike, and nats-server's CPU time is read around each block.
    for (let done = 0; done < rounds; done += BLOCK)
      for (const [name, append] of Object.entries(ways)) {
        const cpu = await cpuMs(server.pid);
        for (let r = 0; r < BLOCK; r++) {
          const started = performance.now();
          await append();
          (samples[name] ??= []).push(performance.now() - started);
        }
        serverCpuMs[name] = (serverCpuMs[name] ?? 0) + (await cpuMs(server.pid)) - cpu;
      }
    return Object.fromEntries(
      Object.entries(samples).map(([name, s]) => {
        const { p50, p99 } = percentiles(s);
        const serverCpuUsPerAppend = Math.round(((serverCpuMs[name] ?? 0) * 1000) / s.length);
        return [name, { p50, p99, serverCpuUsPerAppend }];
      }),
    );
  } finally {
    await nc.close();
  }
}

const result = {
  rounds,
  fsyncDefault: await measure(false),
  fsyncAlways: await measure(true),
  cpu: cpus()[0]?.model ?? 'unknown',
  node: process.version,
  loadAverage: loadavg()[0],
};
for (const mode of ['fsyncDefault', 'fsyncAlways'] as const)
  for (const [name, { p50, p99, serverCpuUsPerAppend }] of Object.entries(result[mode]))
    process.stdout.write(
      `${mode.padEnd(13)} ${name.padEnd(26)} p50 ${p50} ms, p99 ${p99} ms, nats-server ${serverCpuUsPerAppend} µs CPU\n`,
    );
const out = positionals[0];
if (out !== undefined) writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
