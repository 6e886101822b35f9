import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { progressBar } from '../src/progress.ts';

function terminal(tty: boolean): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough() as PassThrough & { isTTY?: boolean };
  if (tty) stream.isTTY = true;
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  // The erase-to-end-of-line sequence, spelled out so the patterns stay readable.
  const text = (): string => Buffer.concat(chunks).toString('utf8').replaceAll('\u001b[K', '<EL>');
  return { stream, text };
}

describe('the progress line', () => {
  it('counts items of a total: bar, share, count of total, rate, ETA', () => {
    const { stream, text } = terminal(true);
    const progress = progressBar(stream, { total: 8 });
    for (let i = 0; i < 8; i++) progress.tick();
    progress.done();
    expect(text()).toMatch(/\r\[#{30}\] 100% 8\/8 \d+\/s ETA 0s<EL>\n$/);
  });

  it('measures a share of the input bytes, with a label after the count', () => {
    const { stream, text } = terminal(true);
    const progress = progressBar(stream, { total: 1000, of: 'bytes', label: 'published' });
    progress.update(3, 250);
    expect(text()).toMatch(/^\r\[#{8}\.{22}\] 25% 3 published \d+\/s ETA \S+<EL>$/);
    progress.clear();
    expect(text().endsWith('\r<EL>')).toBe(true);
  });

  it('has no bar without a total', () => {
    const { stream, text } = terminal(true);
    progressBar(stream, { of: 'bytes', label: 'published' }).update(7);
    expect(text()).toMatch(/^\r7 published \d+\/s<EL>$/);
  });

  it('draws nothing when stderr is not a terminal, and still keeps time', () => {
    const { stream, text } = terminal(false);
    const progress = progressBar(stream, { total: 2 });
    progress.tick(2);
    progress.clear();
    progress.done();
    expect(text()).toBe('');
    expect(progress.elapsedSeconds()).toBeGreaterThanOrEqual(0);
    expect(progress.rate()).toBeGreaterThanOrEqual(0);
  });

  it('is the only place in the CLI that redraws a line', async () => {
    const src = new URL('../src/', import.meta.url).pathname;
    const files = (await readdir(src, { recursive: true })).filter((f) => f.endsWith('.ts'));
    const drawing = [];
    for (const file of files) {
      const text = await readFile(join(src, file), 'utf8');
      if (/\\r|\\x1b\[K|\\u001b\[K/.test(text)) drawing.push(file);
    }
    expect(drawing).toEqual(['progress.ts']);
  });
});
