import { ErrorCode, MosaicError } from '@mosaic/errors';

/**
 * Where the tests' nats-server comes from:
 * - `local` — a nats-server process per test suite (the default);
 * - `url` — an existing server at `NATS_URL` (chosen as well when only `NATS_URL` is set);
 * - `container` — a `nats` container through testcontainers (needs a Docker engine).
 */
export type TestNatsMode = 'local' | 'url' | 'container';

/** Reads `MOSAIC_TEST_NATS` and `NATS_URL`. Throws `ERR_TESTKIT_MODE` for a bad combination. */
export function testNatsMode(env: NodeJS.ProcessEnv = process.env): TestNatsMode {
  const mode = env['MOSAIC_TEST_NATS'] ?? '';
  const url = env['NATS_URL'] ?? '';
  switch (mode) {
    case '':
      return url === '' ? 'local' : 'url';
    case 'local':
    case 'container':
      return mode;
    case 'url':
      if (url === '')
        throw new MosaicError(
          ErrorCode.TestkitMode,
          'MOSAIC_TEST_NATS=url needs NATS_URL, e.g. NATS_URL=nats://127.0.0.1:4222',
        );
      return mode;
    default:
      throw new MosaicError(
        ErrorCode.TestkitMode,
        `MOSAIC_TEST_NATS=${mode} is not a mode: use local (default), url or container`,
      );
  }
}

/** The error for an operation the current mode cannot do. */
export function modeError(mode: TestNatsMode, what: string): MosaicError {
  const why =
    mode === 'url'
      ? 'the server at NATS_URL is not managed by the test kit'
      : 'the container mode supports only start, stop and dispose of a single server';
  return new MosaicError(
    ErrorCode.TestkitMode,
    `${what} is not possible with MOSAIC_TEST_NATS=${mode}: ${why}; run with MOSAIC_TEST_NATS=local`,
    { details: { mode } },
  );
}
