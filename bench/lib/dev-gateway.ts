/**
 * The HTTP gateway URL of a `mosaic dev` child: the `gateway` field of the hub's
 * "HTTP gateway ready" log record on its stderr (the child must log at `info` or lower).
 */
import type { ChildProcessByStdio } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';

export function devGatewayUrl(
  child: ChildProcessByStdio<null, Readable, Readable>,
  timeoutMs = 120_000,
): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(
        new Error(`mosaic dev did not start its HTTP gateway within ${String(timeoutMs / 1000)} s`),
      );
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`mosaic dev exited with ${String(code)}`));
    });
    createInterface({ input: child.stderr }).on('line', (line) => {
      if (!line.startsWith('{')) return;
      let record: { gateway?: unknown };
      try {
        record = JSON.parse(line) as { gateway?: unknown };
      } catch {
        return;
      }
      if (typeof record.gateway === 'string') {
        clearTimeout(timer);
        resolve(record.gateway);
      }
    });
  });
}
