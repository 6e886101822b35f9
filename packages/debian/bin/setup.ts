/**
 * Obtains the Debian programs named as arguments (see `debianTools`; `<package>:<binary>`
 * for others) into the cache, never installing system-wide:
 *   tsx packages/debian/bin/setup.ts faketime ip promtool
 * Prints `<binary> at <path> (<source>)` per program on stdout, progress on stderr;
 * `--quiet` prints nothing on success. A failure prints `error ERR_…: message` on stderr and
 * exits 1 after trying the other programs.
 */
import { isMosaicError } from '@mosaic/errors';
import { ensureDebianTool, parseToolArg } from '../src/index.ts';

const args = process.argv.slice(2);
const quiet = args.includes('--quiet');
const names = args.filter((a) => a !== '--quiet');

if (names.length === 0) {
  process.stderr.write(
    'usage: setup.ts [--quiet] <tool>… (faketime, ip, tc, chromium, promtool, <package>:<binary>)\n',
  );
  process.exitCode = 2;
}
for (const name of names) {
  try {
    const tool = await ensureDebianTool(
      parseToolArg(name),
      quiet ? {} : { log: (line) => process.stderr.write(`${line}\n`) },
    );
    if (!quiet) process.stdout.write(`${name} at ${tool.path} (${tool.source})\n`);
  } catch (err) {
    if (!isMosaicError(err)) throw err;
    process.stderr.write(`error ${err.code}: ${err.message}\n`);
    process.exitCode = 1;
  }
}
