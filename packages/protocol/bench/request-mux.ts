/**
 * What a JetStream publish costs the publishing process, through nats.js's own request
 * multiplexer and through `multiplexRequests` (what the hub's service connections use):
 * CPU of this process per acknowledged publish, 256 awaiting their ack at any time, against
 * one local nats-server (its CPU is its own). Rounds alternate between the two so a load
 * that changes by the second hits both alike. Prints JSON and writes it to the file given.
 *
 *   npx tsx packages/protocol/bench/request-mux.ts [result.json] [--publishes 20000] [--rounds 3]
 */
import { writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { startServer } from '@mosaic/testkit';
import { multiplexRequests } from '../src/index.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    publishes: { type: 'string', default: '20000' },
    rounds: { type: 'string', default: '3' },
  },
});
const publishes = Number(values.publishes);
const rounds = Number(values.rounds);
const IN_FLIGHT = 256;
const INBOX = '_INBOX_BENCH';

await using server = await startServer();
const options = { servers: server.url, inboxPrefix: INBOX, noAsyncTraces: true };
const plain = await connect(options);
const muxed = multiplexRequests(await connect(options), INBOX);
try {
  const jsm = await jetstreamManager(plain);
  await jsm.streams.add({ name: 'BENCH', subjects: ['bench.>'], storage: 'file' });
  const body = new Uint8Array(1_100).fill(120);

  /** µs of this process's CPU per publish, and publishes per second of wall time. */
  const run = async (
    nc: NatsConnection,
  ): Promise<{ cpuUsPerPublish: number; perSecond: number }> => {
    const js = jetstream(nc, { timeout: 30_000 });
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < publishes) {
        const i = next++;
        await js.publish(`bench.${String(i % 64)}`, body, {
          msgID: `${String(Date.now())}-${String(i)}-${String(Math.random())}`,
        });
      }
    };
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
    const wall = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    return {
      cpuUsPerPublish: Math.round(((cpu.user + cpu.system) / publishes) * 10) / 10,
      perSecond: Math.round((publishes / wall) * 1000),
    };
  };
  await run(plain);
  await run(muxed);
  const natsjs: { cpuUsPerPublish: number; perSecond: number }[] = [];
  const mux: { cpuUsPerPublish: number; perSecond: number }[] = [];
  for (let r = 0; r < rounds; r++) {
    natsjs.push(await run(plain));
    mux.push(await run(muxed));
  }
  const median = (xs: number[]): number =>
    [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
  const result = {
    stage: 'request-mux',
    publishes,
    inFlight: IN_FLIGHT,
    bytesEach: body.length,
    rounds,
    natsjs: { medianCpuUsPerPublish: median(natsjs.map((x) => x.cpuUsPerPublish)), runs: natsjs },
    multiplexRequests: {
      medianCpuUsPerPublish: median(mux.map((x) => x.cpuUsPerPublish)),
      runs: mux,
    },
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    loadavg: loadavg().map((l) => Math.round(l * 100) / 100),
    node: process.version,
  };
  const text = JSON.stringify(result, null, 2);
  process.stdout.write(`${text}\n`);
  if (positionals[0] !== undefined) await writeFile(positionals[0], `${text}\n`);
} finally {
  await plain.close();
  await muxed.close();
}
