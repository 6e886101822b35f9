import type { ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';

/** Set by the vitest global setup; every spawned server registers a pid file there. */
export const runDirEnv = 'MOSAIC_TESTKIT_RUN_DIR';

interface Tracked {
  child: ChildProcess;
  pidFile: string | undefined;
}

const tracked = new Set<Tracked>();
let handlersInstalled = false;

function errno(err: unknown): string | undefined {
  return err instanceof Error && 'code' in err && typeof err.code === 'string'
    ? err.code
    : undefined;
}

function killNow(entry: Tracked): void {
  const { child } = entry;
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(child.pid, 'SIGKILL');
  } catch (err) {
    if (errno(err) !== 'ESRCH') throw err;
  }
}

function killAll(): void {
  for (const entry of tracked) killNow(entry);
}

function onSignal(signal: NodeJS.Signals): void {
  killAll();
  // Only when nobody else handles the signal do we restore its default action (exit).
  if (process.listenerCount(signal) === 1) {
    process.removeListener(signal, onSignal);
    process.kill(process.pid, signal);
  }
}

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  // 'exit' handlers must be synchronous: process.kill is.
  process.on('exit', killAll);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
}

/**
 * Tracks a spawned server so that it dies with this process (exit, SIGINT, SIGTERM, SIGHUP)
 * and, under vitest, registers its pid for the global teardown, which also covers a worker
 * killed with SIGKILL.
 */
export function track(child: ChildProcess, configFile: string, dir: string): void {
  const pid = child.pid;
  if (pid === undefined) return;
  installHandlers();
  const runDir = process.env[runDirEnv];
  const pidFile =
    runDir === undefined || runDir === '' ? undefined : join(runDir, `nats-server-${pid}.json`);
  // Tracked before the pid file is written: if that fails, the exit handler still kills it.
  const entry: Tracked = { child, pidFile };
  tracked.add(entry);
  child.once('exit', () => {
    tracked.delete(entry);
    if (pidFile !== undefined) rmSync(pidFile, { force: true });
  });
  if (pidFile !== undefined) writeFileSync(pidFile, JSON.stringify({ pid, configFile, dir }));
}

/** True when `pid` runs and is not a zombie. */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if (errno(err) === 'ESRCH') return false;
    throw err;
  }
  try {
    // Field 3 of /proc/<pid>/stat is the state; an unreaped orphan shows Z.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch (err) {
    if (errno(err) === 'ENOENT') return process.platform !== 'linux';
    throw err;
  }
}

/** The command line of `pid`, or undefined where /proc is not available. */
function commandLine(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch (err) {
    if (errno(err) === 'ENOENT') return undefined;
    throw err;
  }
}

/** The prefix of a server's temp dir; the reaper removes nothing else. */
export const serverDirPrefix = 'mosaic-nats-';

/**
 * Kills (SIGKILL) every server still registered in `runDir` — those whose owner died without
 * cleaning up — waits for them to die, and removes their pid files and temp dirs. A pid is
 * only killed when its command line still names the registered config file, so a recycled
 * pid is left alone. Returns the killed pids.
 */
export async function reapRegisteredServers(runDir: string): Promise<number[]> {
  const killed: number[] = [];
  let names: string[];
  try {
    names = readdirSync(runDir);
  } catch (err) {
    if (errno(err) === 'ENOENT') return killed;
    throw err;
  }
  const entries = names
    .filter((n) => /^nats-server-\d+\.json$/.test(n))
    .map((name) => {
      const file = join(runDir, name);
      return { file, ...(JSON.parse(readFileSync(file, 'utf8')) as Registered) };
    });
  for (const { pid, configFile } of entries) {
    const cmd = commandLine(pid);
    const ours = process.platform !== 'linux' || (cmd !== undefined && cmd.includes(configFile));
    if (!ours || !isRunning(pid)) continue;
    try {
      process.kill(pid, 'SIGKILL');
      killed.push(pid);
    } catch (err) {
      if (errno(err) !== 'ESRCH') throw err;
    }
  }
  // A dying server could still write into its dir: remove it only once the process is gone.
  const deadline = Date.now() + 5_000;
  while (killed.some(isRunning) && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 20));
  for (const { file, dir } of entries) {
    if (dirname(dir) === tmpdir() && basename(dir).startsWith(serverDirPrefix))
      rmSync(dir, { recursive: true, force: true });
    unlinkSync(file);
  }
  return killed;
}

interface Registered {
  pid: number;
  configFile: string;
  dir: string;
}
