/**
 * The hub under benchmark, in its own process so that its CPU and peak RSS are its own:
 * `startHub` with the given data dir and federation (and `correlation: false` after
 * `--no-correlation`), the default logger (JSON lines to
 * stderr, which the harness sends to a file). Talks to the harness over IPC: sends
 * `{ ready, url, contextsDir, serverPid, monitorUrl }`, stops on `'stop'` and answers
 * `{ stopped, maxRssKb, memory }`: `memory` is `process.memoryUsage()` once ready and at the
 * highest RSS of the samples taken every 250 ms from then until stopping, in MB.
 * `{ profile: 'start' }` starts the V8 CPU profiler (what `node --cpu-prof` runs, but only
 * over the measured phase, not start-up) and `{ profile: 'stop', file }` writes the
 * `.cpuprofile`; each is answered with `{ profile: <the same>, done: true }`.
 * `{ loopDelay: 'reset' }` starts measuring how late the event loop runs (every service of
 * the hub shares it), and `{ loopDelay: 'read' }` answers `{ loopDelay: { p50, p99, max } }`
 * in ms since.
 */
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { startHub } from '@mosaic/hub';
import type { HubMemory, HubMemorySample } from './lib/stats.ts';

const [dataDir, federationPath, ...rest] = process.argv.slice(2);
if (
  dataDir === undefined ||
  federationPath === undefined ||
  !(rest.length === 0 || (rest.length === 1 && rest[0] === '--no-correlation')) ||
  process.send === undefined
) {
  process.stderr.write(
    'usage: node --import tsx bench/hub-child.ts <dataDir> <federation> [--no-correlation] (IPC)\n',
  );
  process.exit(2);
}
const send = process.send.bind(process);
const hub = await startHub({ dataDir, federationPath, port: 0, correlation: rest.length === 0 });
const inMb = (m: NodeJS.MemoryUsage): HubMemorySample => ({
  rss: m.rss / 2 ** 20,
  heapTotal: m.heapTotal / 2 ** 20,
  heapUsed: m.heapUsed / 2 ** 20,
  external: m.external / 2 ** 20,
  arrayBuffers: m.arrayBuffers / 2 ** 20,
});
const atStart = inMb(process.memoryUsage());
let atPeak = atStart;
const sampling = setInterval(() => {
  const now = inMb(process.memoryUsage());
  if (now.rss > atPeak.rss) atPeak = now;
}, 250).unref();
send({
  ready: true,
  url: hub.url,
  contextsDir: hub.contextsDir,
  serverPid: hub.serverPid,
  monitorUrl: hub.monitorUrl,
});
let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  clearInterval(sampling);
  hub.stop().then(
    () => {
      if (!process.connected) process.exit(0);
      const memory: HubMemory = { atStart, atPeak };
      send({ stopped: true, maxRssKb: process.resourceUsage().maxRSS, memory }, () => {
        process.exit(0);
      });
    },
    (err: unknown) => {
      process.stderr.write(`hub stop failed: ${String(err)}\n`);
      process.exit(1);
    },
  );
};
let session: Session | undefined;
const profile = async (m: { profile: string; file?: string }): Promise<void> => {
  if (m.profile === 'start') {
    session = new Session();
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 1_000 });
    await session.post('Profiler.start');
  } else if (session !== undefined && m.file !== undefined) {
    const { profile: taken } = await session.post('Profiler.stop');
    await writeFile(m.file, JSON.stringify(taken));
    session.disconnect();
    session = undefined;
  }
  send({ profile: m.profile, done: true });
};
const loopDelay = monitorEventLoopDelay({ resolution: 1 });
const ms = (ns: number): number => Math.round(ns / 1e4) / 100;
process.on('message', (m: unknown) => {
  if (m === 'stop') stop();
  else if (typeof m === 'object' && m !== null && 'loopDelay' in m) {
    if (m.loopDelay === 'reset') {
      loopDelay.reset();
      loopDelay.enable();
      send({ loopDelay: 'reset', done: true });
    } else {
      loopDelay.disable();
      send({
        loopDelay: {
          p50: ms(loopDelay.percentile(50)),
          p99: ms(loopDelay.percentile(99)),
          max: ms(loopDelay.max),
        },
      });
    }
  } else if (typeof m === 'object' && m !== null && 'profile' in m)
    profile(m as { profile: string; file?: string }).catch((err: unknown) => {
      process.stderr.write(`profiler failed: ${String(err)}\n`);
      process.exit(1);
    });
});
// The harness failed: stop nats-server too rather than leave it running.
process.on('SIGTERM', stop);
process.on('disconnect', stop);
