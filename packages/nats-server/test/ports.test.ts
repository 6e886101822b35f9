import { createServer } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ephemeralPortsFrom, freePorts, portFree } from '../src/index.ts';

describe('freePorts', () => {
  it('gives n distinct free ports below the ephemeral range, which no outgoing connection takes', async () => {
    const ephemeral = await ephemeralPortsFrom();
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 12 }), async (n) => {
        const ports = await freePorts(n);
        expect(new Set(ports).size).toBe(n);
        for (const port of ports) {
          expect(port).toBeGreaterThanOrEqual(10_000);
          expect(port).toBeLessThan(ephemeral);
          expect(await portFree(port), `port ${String(port)} is free again`).toBe(true);
        }
      }),
      { numRuns: 20 },
    );
  });
});

describe('freePorts, called again', () => {
  it('never returns a port it returned before in this process (its caller may not have bound it yet)', async () => {
    const seen = new Set<number>();
    for (let i = 0; i < 100; i++)
      for (const port of await freePorts(5)) {
        expect(seen.has(port), `port ${String(port)} again`).toBe(false);
        seen.add(port);
      }
  });
});

describe('portFree', () => {
  it('is false on an address this machine does not have, not an error', async () => {
    expect(await portFree(10_000, '192.0.2.1')).toBe(false);
  });

  it('is false while something listens on the port, and true once it stopped', async () => {
    const [port = 0] = await freePorts(1);
    const server = createServer();
    await new Promise<void>((resolve) => {
      server.listen(port, '127.0.0.1', resolve);
    });
    try {
      expect(await portFree(port)).toBe(false);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    expect(await portFree(port)).toBe(true);
  });
});
