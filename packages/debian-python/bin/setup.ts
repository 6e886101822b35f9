/**
 * Part of `npm run setup`: makes Debian's python3-jwcrypto importable by /usr/bin/python3 for
 * the JOSE interop test, fetching it into the cache when it is not installed. Prints
 * `python3-jwcrypto for /usr/bin/python3 (<source>): <paths>`; `--quiet` prints nothing on
 * success.
 */
import { isMosaicError } from '@mosaic/errors';
import { ensurePythonPackage, jwcrypto } from '../src/index.ts';

const quiet = process.argv.includes('--quiet');

try {
  const found = await ensurePythonPackage(
    jwcrypto,
    quiet ? {} : { log: (line) => process.stderr.write(`${line}\n`) },
  );
  if (!quiet)
    process.stdout.write(
      `${jwcrypto.package} for ${found.python} (${found.source})` +
        (found.paths.length === 0 ? '\n' : `: ${found.paths.join(', ')}\n`),
    );
} catch (err) {
  if (!isMosaicError(err)) throw err;
  process.stderr.write(`error ${err.code}: ${err.message}\n`);
  process.exitCode = 1;
}
