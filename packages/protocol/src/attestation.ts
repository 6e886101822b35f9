/** The header nats-server adds to a request that crosses a service import with `share`. */
export const REQUEST_INFO_HEADER = 'Nats-Request-Info';

/**
 * The requesting account as the broker attests it in `Nats-Request-Info` (which it writes
 * itself, replacing any a client sent), or undefined when the header is absent or unreadable:
 * a request that did not cross a `share` import.
 *
 * @example
 * ```ts
 * attestedAccount(msg.headers) === accounts.accountOf('nl-police'); // sent by nl-police's account
 * ```
 */
export function attestedAccount(
  headers: { get(key: string): string } | undefined,
): string | undefined {
  const info = headers?.get(REQUEST_INFO_HEADER);
  if (info === undefined || info === '') return undefined;
  try {
    const parsed: unknown = JSON.parse(info);
    return typeof parsed === 'object' &&
      parsed !== null &&
      'acc' in parsed &&
      typeof parsed.acc === 'string'
      ? parsed.acc
      : undefined;
  } catch (err) {
    if (err instanceof SyntaxError) return undefined;
    throw err;
  }
}
