import { describe, expect, it } from 'vitest';
import { limit } from '../src/index.ts';

/** A promise and the functions that settle it. */
function deferred(): { promise: Promise<void>; resolve: () => void; reject: (e: unknown) => void } {
  let resolve!: () => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('limit', () => {
  it('never runs more than max tasks; free() resolves once one finishes', async () => {
    const tasks = limit<number>(2, { onError: (err) => expect.fail(String(err)) });
    const gates = [deferred(), deferred(), deferred()];
    let running = 0;
    let most = 0;
    const started: number[] = [];
    const go = (i: number) => async () => {
      started.push(i);
      most = Math.max(most, ++running);
      await gates[i]!.promise;
      running--;
    };
    await tasks.free();
    void tasks.run(0, go(0));
    await tasks.free();
    void tasks.run(1, go(1));
    let freed = false;
    const room = tasks.free().then(() => (freed = true));
    await Promise.resolve();
    expect(tasks.size).toBe(2);
    expect(freed).toBe(false);
    gates[1]!.resolve();
    await room;
    expect(tasks.size).toBe(1);
    void tasks.run(2, go(2));
    gates[0]!.resolve();
    gates[2]!.resolve();
    await tasks.idle();
    expect(tasks.size).toBe(0);
    expect(most).toBe(2);
    expect(started).toEqual([0, 1, 2]);
  });

  it('a task can wait for the running task of another key', async () => {
    const tasks = limit<string>(4, { onError: (err) => expect.fail(String(err)) });
    const gate = deferred();
    const order: string[] = [];
    void tasks.run('first', async () => {
      await gate.promise;
      order.push('first');
    });
    const second = tasks.run('second', async () => {
      await tasks.running('first');
      order.push('second');
    });
    expect(tasks.running('missing')).toBeUndefined();
    gate.resolve();
    await second;
    expect(order).toEqual(['first', 'second']);
    expect(tasks.running('first')).toBeUndefined();
  });

  it('hands what a task throws, at once or later, to onError, and lets the task go', async () => {
    const errors: unknown[] = [];
    const tasks = limit<number>(1, { onError: (err) => errors.push(err) });
    await tasks.run(1, () => {
      throw new Error('at once');
    });
    const later = deferred();
    const run = tasks.run(2, () => later.promise);
    later.reject(new Error('later'));
    await expect(run).resolves.toBeUndefined();
    await tasks.free();
    expect(tasks.size).toBe(0);
    expect(errors.map((e) => (e as Error).message)).toEqual(['at once', 'later']);
  });

  it('a key run again while its first task runs names the later task; idle() waits for both', async () => {
    const tasks = limit<number>(4, { onError: (err) => expect.fail(String(err)) });
    const first = deferred();
    const again = deferred();
    let done = 0;
    void tasks.run(7, async () => {
      await first.promise;
      done++;
    });
    const second = tasks.run(7, async () => {
      await again.promise;
      done++;
    });
    expect(tasks.running(7)).toBe(second);
    expect(tasks.size).toBe(2);
    first.resolve();
    await Promise.resolve();
    await Promise.resolve();
    // The first one ending does not forget the second.
    expect(tasks.running(7)).toBe(second);
    const idle = tasks.idle();
    again.resolve();
    await idle;
    expect(done).toBe(2);
    expect(tasks.running(7)).toBeUndefined();
  });

  it('a limit below 1 is 1', () => {
    expect(limit(0, { onError: () => undefined }).max).toBe(1);
  });
});
