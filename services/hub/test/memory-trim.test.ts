import { execFile } from 'node:child_process';
import { onGlibc } from '@mosaic/testkit';
import { describe, expect, it } from 'vitest';
import { startMemoryTrim } from '../src/memory-trim.ts';

const module = new URL('../src/memory-trim.ts', import.meta.url).href;

/**
 * A node process that runs `before` (statements with `startMemoryTrim` in scope), fills 64 MB
 * of glibc's heap with buffers, keeps one allocated after them (so the freed space is not at
 * the heap's top, which glibc gives back by itself), frees the rest, then runs `after` and
 * reports its RSS in MB: all held, freed, and after `after`.
 */
async function fragmented(
  before: string,
  after: string,
): Promise<{ held: number; freed: number; after: number }> {
  const script = `
    import { startMemoryTrim } from ${JSON.stringify(module)};
    const rss = () => process.memoryUsage.rss() / 2 ** 20;
    ${before}
    let buffers = Array.from({ length: 1000 }, () => Buffer.alloc(64 * 1024, 1));
    const pin = Buffer.alloc(64 * 1024, 1);
    const held = rss();
    buffers = undefined;
    globalThis.gc();
    await new Promise((r) => setTimeout(r, 200));
    globalThis.gc();
    const freed = rss();
    ${after}
    console.log(JSON.stringify({ held, freed, after: rss(), pin: pin.length }));
  `;
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(
      process.execPath,
      ['--expose-gc', '--import', 'tsx', '--input-type=module', '-e', script],
      { timeout: 60_000 },
      (err, out, stderr) => {
        if (err === null) resolve(out);
        else reject(new Error(`the child failed: ${stderr}`, { cause: err }));
      },
    );
  });
  return JSON.parse(stdout) as { held: number; freed: number; after: number };
}

describe('startMemoryTrim', () => {
  it.runIf(onGlibc)('on glibc, gives what node freed back to the system at once', async () => {
    const { held, freed, after } = await fragmented(
      '',
      `const t = startMemoryTrim({ intervalMs: 0 }); if (t.via !== 'malloc_trim') throw new Error(t.reason);`,
    );
    // Freed but not given back: glibc keeps it (what the hub's start-up leaves behind).
    expect(freed).toBeGreaterThan(held - 16);
    // Given back: at least 48 of the 64 MB freed.
    expect(after).toBeLessThan(freed - 48);
  });

  it.runIf(onGlibc)(
    'on glibc, gives back what is freed later by itself, every interval',
    async () => {
      // Started before the buffers exist: only its timer can give them back.
      const { held, freed, after } = await fragmented(
        'const t = startMemoryTrim({ intervalMs: 50 });',
        'await new Promise((r) => setTimeout(r, 300)); t.stop();',
      );
      expect(freed).toBeLessThan(held + 16);
      expect(after).toBeLessThan(held - 48);
    },
  );

  it.runIf(onGlibc)('stopped, it gives nothing back any more', async () => {
    const { held, after } = await fragmented(
      'const t = startMemoryTrim({ intervalMs: 50 }); t.stop();',
      'await new Promise((r) => setTimeout(r, 300));',
    );
    expect(after).toBeGreaterThan(held - 16);
  });

  it('says whether it can: malloc_trim on glibc, unavailable with the reason elsewhere', () => {
    const trim = startMemoryTrim({ intervalMs: 0 });
    trim.stop();
    if (onGlibc) {
      expect(trim).toMatchObject({ via: 'malloc_trim' });
      expect(trim.reason).toBeUndefined();
      expect(typeof trim.trimNow()).toBe('boolean');
    } else {
      expect(trim.via).toBe('unavailable');
      expect(trim.reason).toBeTruthy();
      expect(trim.trimNow()).toBe(false);
    }
  });
});
