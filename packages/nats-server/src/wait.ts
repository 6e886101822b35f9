import { get } from 'node:http';
import { connect } from 'node:net';

/**
 * Polls `check` until it returns a value (not `undefined`) or the time is up. `check`
 * returns `undefined` with a reason via `note` while the condition does not hold yet.
 */
export async function waitFor<T>(
  what: string,
  check: (note: (reason: string) => undefined) => Promise<T | undefined>,
  options: { timeoutMs: number; intervalMs?: number; onTimeout: (message: string) => Error },
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  let last = '';
  const note = (reason: string): undefined => {
    last = reason;
    return undefined;
  };
  for (;;) {
    const value = await check(note);
    if (value !== undefined) return value;
    if (Date.now() >= deadline)
      throw options.onTimeout(
        `${what} not reached within ${options.timeoutMs} ms${last === '' ? '' : ` (${last})`}`,
      );
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 25));
  }
}

/** Resolves true when a TCP connection to the port succeeds, false when it is refused. */
export function canConnect(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

export interface HttpResult {
  status: number;
  body: string;
}

/** GET on a local monitoring endpoint; `undefined` when the server does not answer. */
export function httpGet(url: string, timeoutMs = 2_000): Promise<HttpResult | undefined> {
  return new Promise((resolve) => {
    const req = get(url, { agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, body });
      });
      res.on('error', () => {
        resolve(undefined);
      });
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => {
      resolve(undefined);
    });
  });
}
