/** One package that `apt-get --simulate install` would install or upgrade. */
export interface AptInstall {
  /** As apt names it, with `:<arch>` when it is a foreign architecture's. */
  name: string;
  version: string;
  arch: string;
  /** The version installed now, when apt would upgrade it. */
  installed?: string;
}

const instLine = /^Inst (\S+)(?: \[([^\]]*)\])? \((\S+) [^)]*\[([^\]]+)\]\)/;

/**
 * Reads the `Inst` lines of `apt-get --simulate install …`:
 * `Inst python3-wrapt (1.14.1-2+b2 Debian:12.15/oldstable [amd64])`, or with the installed
 * version in brackets for an upgrade. Everything else apt prints is ignored.
 */
export function parseAptSimulation(output: string): AptInstall[] {
  const installs: AptInstall[] = [];
  for (const line of output.split(/\r?\n/)) {
    const m = instLine.exec(line);
    if (m === null) continue;
    const [, name = '', installed, version = '', arch = ''] = m;
    installs.push({
      name,
      version,
      arch,
      ...(installed === undefined || installed === '' ? {} : { installed }),
    });
  }
  return installs;
}
