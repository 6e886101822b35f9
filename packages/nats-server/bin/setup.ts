/**
 * `npm run setup`: makes sure a nats-server >= 2.12 is available for the hub and the tests.
 * Prints `nats-server <version> at <path> (<source>)`; `--quiet` prints nothing on success.
 */
import { isMosaicError } from '@mosaic/errors';
import { ensureNatsServer } from '../src/index.ts';

const quiet = process.argv.includes('--quiet');
const mode = process.env['MOSAIC_TEST_NATS'];
const natsUrl = process.env['NATS_URL'];

function out(line: string): void {
  if (!quiet) process.stdout.write(`${line}\n`);
}

if (mode === 'container') {
  out('MOSAIC_TEST_NATS=container: tests run nats-server in a container, nothing to set up');
} else if (natsUrl !== undefined && natsUrl !== '' && mode !== 'local') {
  out(`NATS_URL=${natsUrl}: tests use that server, nothing to set up`);
} else {
  try {
    const binary = await ensureNatsServer(
      quiet ? {} : { log: (line) => process.stderr.write(`${line}\n`) },
    );
    out(`nats-server ${binary.version} at ${binary.path} (${binary.source})`);
  } catch (err) {
    if (!isMosaicError(err)) throw err;
    process.stderr.write(`error ${err.code}: ${err.message}\n`);
    process.exitCode = 1;
  }
}
