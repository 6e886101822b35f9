/**
 * What reading a whole stream through its leader costs: `readSequences` of an R3 stream on
 * a local 3-node cluster, with batched direct gets (any replica answers) and with the
 * leader's message gets (`leader: true`, what `mosaic audit verify` reads with). Messages
 * of ~1 KB, like audit entries. Prints JSON and writes it to the file given.
 *
 *   npx tsx packages/protocol/bench/read-leader.ts [result.json] [--messages 5000] [--rounds 3]
 */
import { writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { startCluster } from '@mosaic/testkit';
import { readSequences } from '../src/index.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    messages: { type: 'string', default: '5000' },
    rounds: { type: 'string', default: '3' },
  },
});
const messages = Number(values.messages);
const rounds = Number(values.rounds);

await using cluster = await startCluster(3, { startTimeoutMs: 120_000 });
const nc = await connect({ servers: cluster.urls });
try {
  const jsm = await jetstreamManager(nc, { timeout: 30_000 });
  await jsm.streams.add({
    name: 'BENCH',
    subjects: ['bench.>'],
    num_replicas: 3,
    storage: 'file',
    allow_direct: true,
  });
  const js = jetstream(nc, { timeout: 30_000 });
  const body = new Uint8Array(1_000).fill(120);
  for (let i = 0; i < messages; i += 200)
    await Promise.all(
      Array.from({ length: Math.min(200, messages - i) }, (_, k) =>
        js.publish(`bench.${String(i + k)}`, body),
      ),
    );
  const time = async (leader: boolean): Promise<number> => {
    const t0 = performance.now();
    let read = 0;
    for await (const { msg } of readSequences(jsm, 'BENCH', { leader }))
      if (msg !== undefined) read++;
    if (read !== messages) throw new Error(`read ${String(read)} of ${String(messages)}`);
    return performance.now() - t0;
  };
  const direct: number[] = [];
  const leader: number[] = [];
  for (let r = 0; r < rounds; r++) {
    direct.push(await time(false));
    leader.push(await time(true));
  }
  const best = (ms: number[]): { ms: number; perSecond: number } => {
    const m = Math.min(...ms);
    return { ms: Math.round(m), perSecond: Math.round((messages / m) * 1000) };
  };
  const result = {
    stage: 'read-leader',
    messages,
    bytesEach: body.length,
    rounds,
    directGetBatches: { ...best(direct), allMs: direct.map(Math.round) },
    leaderMessageGets: { ...best(leader), allMs: leader.map(Math.round) },
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    loadavg: loadavg().map((l) => Math.round(l * 100) / 100),
    node: process.version,
  };
  const text = JSON.stringify(result, null, 2);
  process.stdout.write(`${text}\n`);
  if (positionals[0] !== undefined) await writeFile(positionals[0], `${text}\n`);
} finally {
  await nc.close();
}
