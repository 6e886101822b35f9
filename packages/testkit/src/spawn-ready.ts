import { spawn, type ChildProcess } from 'node:child_process';
import { ErrorCode, MosaicError } from '@mosaic/errors';

export interface SpawnReadyOptions {
  /** Default: this process's working directory. */
  cwd?: string;
  /** Added to this process's environment. */
  env?: NodeJS.ProcessEnv;
  /** What stdout must show (all of it so far) for the child to count as ready. Default `/\bready\b/`. */
  ready?: RegExp;
  /** How long it may take to get ready; then it is killed. Default 60 s. */
  timeoutMs?: number;
  /** Its own process group (as a terminal's foreground job), so a signal can reach the group. */
  detached?: boolean;
}

/** A child process a test started; dispose it to kill it (SIGKILL) if it still runs. */
export interface ReadyChild extends AsyncDisposable {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Everything it wrote to stdout so far. */
  stdout(): string;
  /** Everything it wrote to stderr so far. */
  stderr(): string;
  /** Resolves when it exits. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** True until it exited. */
  readonly running: boolean;
  /** Resolves once stdout (all of it so far) matches, bounded by `timeoutMs` (default 60 s). */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
}

/** `awaited`, or ERR_TEST_CHILD after `ms` naming `what`. */
export async function bounded<T>(awaited: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new MosaicError(ErrorCode.TestChild, `${what}: not within ${ms / 1000} s`));
    }, ms);
  });
  try {
    return await Promise.race([awaited, late]);
  } finally {
    clearTimeout(timer);
  }
}

const tail = (text: string): string => text.slice(-8_192);

/**
 * Spawns `command` and resolves once its stdout matches `ready` — the child-process side
 * prints a line such as `ready` or `mosaic: hub ready nats://…` when it serves. Rejects
 * with ERR_TEST_CHILD (and its stderr) when it exits first or is not ready in time; a child
 * not ready in time is killed.
 *
 * @example
 * ```ts
 * await using ingest = await spawnReady(process.execPath, ['--import', 'tsx', main, ctx]);
 * ingest.child.kill('SIGKILL');
 * ```
 */
export async function spawnReady(
  command: string,
  args: readonly string[],
  options: SpawnReadyOptions = {},
): Promise<ReadyChild> {
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.detached ?? false,
  });
  let out = '';
  let err = '';
  let running = true;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      running = false;
      resolve({ code, signal });
    });
  });
  const waiters = new Set<() => void>();
  child.stdout.setEncoding('utf8').on('data', (c: string) => {
    out += c;
    for (const check of waiters) check();
  });
  child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
  const waitFor = async (pattern: RegExp, timeoutMs = 60_000): Promise<void> => {
    let check: (() => void) | undefined;
    const what = `${command} ${args.join(' ')} did not print ${String(pattern)}`;
    const seen = new Promise<void>((resolve, reject) => {
      check = () => {
        if (pattern.test(out)) resolve();
      };
      waiters.add(check);
      check();
      void exited.then(({ code, signal }) => {
        reject(
          new MosaicError(ErrorCode.TestChild, `${what}: it exited (${String(signal ?? code)})`, {
            details: { code, signal, stderr: tail(err) },
          }),
        );
      });
    });
    try {
      await bounded(seen, timeoutMs, what);
    } catch (e) {
      if (!(e instanceof MosaicError) || e.code !== ErrorCode.TestChild) throw e;
      throw new MosaicError(ErrorCode.TestChild, `${e.message}\n${tail(err)}`, {
        details: { ...(e.details as object | undefined), stdout: tail(out), stderr: tail(err) },
        cause: e,
      });
    } finally {
      if (check !== undefined) waiters.delete(check);
    }
  };
  const handle: ReadyChild = {
    child,
    pid: child.pid ?? 0,
    stdout: () => out,
    stderr: () => err,
    exited,
    get running() {
      return running;
    },
    waitFor,
    async [Symbol.asyncDispose]() {
      if (!running) return;
      child.kill('SIGKILL');
      await exited;
    },
  };
  try {
    await waitFor(options.ready ?? /\bready\b/, options.timeoutMs);
  } catch (e) {
    await handle[Symbol.asyncDispose]();
    throw e;
  }
  return handle;
}
