import { ErrorCode, MosaicError } from '@mosaic/errors';
import { describe, expect, it } from 'vitest';
import { bounded, isRunning, logSink, spawnReady } from '../src/index.ts';

const node = process.execPath;
/** Prints `ready` shortly after it starts, `second` on SIGUSR2; SIGTERM ends it with 0. */
const serving = `
process.stdout.write('starting\\n');
setTimeout(() => process.stdout.write('ready\\n'), 10);
process.on('SIGUSR2', () => process.stdout.write('second\\n'));
process.on('SIGTERM', () => { process.stderr.write('bye\\n'); process.exit(0); });
setInterval(() => {}, 1000);
`;

describe('spawnReady', () => {
  it('resolves once stdout shows the ready line; waitFor sees later output; dispose kills it', async () => {
    let pid: number;
    {
      await using child = await spawnReady(node, ['-e', serving]);
      pid = child.pid;
      expect(child.stdout()).toBe('starting\nready\n');
      expect(child.running).toBe(true);
      child.child.kill('SIGUSR2');
      await child.waitFor(/second/, 10_000);
      expect(isRunning(pid)).toBe(true);
    }
    expect(isRunning(pid)).toBe(false);
  });

  it('a child that exits first rejects with ERR_TEST_CHILD and its stderr', async () => {
    const failed = spawnReady(node, [
      '-e',
      'process.stderr.write("no config\\n"); process.exit(3)',
    ]);
    await expect(failed).rejects.toMatchObject({
      code: ErrorCode.TestChild,
      details: { code: 3, stderr: 'no config\n' },
    });
  });

  it('a child not ready in time is killed', async () => {
    const late = spawnReady(
      node,
      ['-e', 'process.stdout.write(String(process.pid) + "\\n"); setInterval(() => {}, 1000)'],
      { timeoutMs: 3_000, ready: /never/ },
    );
    const err = await late.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(MosaicError);
    const failure = err as MosaicError;
    expect(failure.code).toBe(ErrorCode.TestChild);
    expect(failure.message).toMatch(/not within 3 s/);
    const pid = Number((failure.details as { stdout: string }).stdout.trim());
    expect(pid).toBeGreaterThan(0);
    expect(isRunning(pid)).toBe(false);
  });

  it('SIGTERM, then the exit code and what it wrote', async () => {
    const child = await spawnReady(node, ['-e', serving], { env: { EXTRA: '1' } });
    child.child.kill('SIGTERM');
    expect(await child.exited).toEqual({ code: 0, signal: null });
    expect(child.stderr()).toBe('bye\n');
    expect(child.running).toBe(false);
  });
});

describe('bounded', () => {
  it('passes a value through in time, fails with ERR_TEST_CHILD when late', async () => {
    await expect(bounded(Promise.resolve(7), 1_000, 'quick')).resolves.toBe(7);
    await expect(bounded(new Promise(() => undefined), 50, 'slow')).rejects.toMatchObject({
      code: ErrorCode.TestChild,
      message: 'slow: not within 0.05 s',
    });
  });
});

describe('logSink', () => {
  it('records carry the service and the fields, parsed', () => {
    const sink = logSink('ingest');
    sink.log.child({ agency: 'nl' }).info({ seq: 4 }, 'report stored');
    expect(sink.records).toEqual([
      expect.objectContaining({ service: 'ingest', agency: 'nl', seq: 4, msg: 'report stored' }),
    ]);
    expect(sink.lines).toHaveLength(1);
  });
});
