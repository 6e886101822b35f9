import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { errnoOf, isProcessAlive } from '../src/index.ts';

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

describe('errnoOf', () => {
  it("reads the code of Node's system errors and nothing else", () => {
    const missing = join(tmpdir(), `mosaic-missing-${process.pid}-${Date.now()}`);
    expect(errnoOf(thrown(() => readFileSync(missing)))).toBe('ENOENT');
    expect(errnoOf(new Error('plain'))).toBeUndefined();
    expect(errnoOf({ code: 'ENOENT' })).toBeUndefined();
    expect(errnoOf(Object.assign(new Error('numeric'), { code: 1 }))).toBeUndefined();
    expect(errnoOf(undefined)).toBeUndefined();
  });
});

describe('isProcessAlive', () => {
  it('is true for this process and for pid 1, false for a child that has exited', () => {
    expect(isProcessAlive(process.pid)).toBe(true);
    // Not ours when the tests run unprivileged (EPERM), yet running.
    expect(isProcessAlive(1)).toBe(true);
    const child = spawnSync(process.execPath, ['-e', '']);
    expect(child.status).toBe(0);
    expect(isProcessAlive(child.pid)).toBe(false);
  });
});
