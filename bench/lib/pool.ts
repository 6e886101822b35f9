/** A fixed pool of benchmark worker threads (`worker.ts`), one task per worker at a time. */
import { Worker } from 'node:worker_threads';
import type { SignedItem, Task, TaskResult } from './worker.ts';

export interface Pool extends AsyncDisposable {
  readonly size: number;
  /** Runs one task on a free worker. */
  run(task: Task): Promise<TaskResult>;
  /** Runs one task per worker at once (rate loops: every core busy). */
  all(make: (i: number) => Task): Promise<TaskResult[]>;
}

export function startPool(size: number): Pool {
  // Workers do not inherit tsx's loader on Node 20: register it, then load the TypeScript.
  const entry = JSON.stringify(new URL('./worker.ts', import.meta.url).href);
  const boot = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${entry}); });`;
  const workers = Array.from({ length: size }, () => new Worker(boot, { eval: true }));
  const idle = [...workers];
  const waiting: ((w: Worker) => void)[] = [];
  const acquire = (): Promise<Worker> =>
    new Promise((resolve) => {
      const w = idle.pop();
      if (w !== undefined) resolve(w);
      else waiting.push(resolve);
    });
  const release = (w: Worker): void => {
    const next = waiting.shift();
    if (next !== undefined) next(w);
    else idle.push(w);
  };
  const on = (w: Worker, task: Task): Promise<TaskResult> =>
    new Promise((resolve, reject) => {
      w.once('message', (m: { ok: boolean; result?: TaskResult; error?: string }) => {
        if (m.ok && m.result !== undefined) resolve(m.result);
        else reject(new Error(m.error ?? 'worker failed'));
      });
      w.postMessage(task);
    });
  const run = async (task: Task): Promise<TaskResult> => {
    const w = await acquire();
    try {
      return await on(w, task);
    } finally {
      release(w);
    }
  };
  const close = async (): Promise<void> => {
    await Promise.all(workers.map((w) => w.terminate()));
  };
  return {
    size,
    run,
    all: (make) => Promise.all(workers.map((_, i) => run(make(i)))),
    [Symbol.asyncDispose]: close,
  };
}

/** `count` signed bench reports of `issuer`, signed in chunks across the pool. */
export async function signReports(
  pool: Pool,
  issuer: string,
  privateJwk: object,
  count: number,
  from = 0,
): Promise<SignedItem[]> {
  const chunk = Math.max(1, Math.ceil(count / (pool.size * 4)));
  const tasks: Promise<TaskResult>[] = [];
  for (let start = 0; start < count; start += chunk)
    tasks.push(
      pool.run({
        kind: 'sign',
        privateJwk,
        issuer,
        from: from + start,
        count: Math.min(chunk, count - start),
      }),
    );
  return (await Promise.all(tasks)).flatMap((r) => (r.kind === 'signed' ? r.items : []));
}
