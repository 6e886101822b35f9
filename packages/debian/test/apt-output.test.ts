import { describe, expect, it } from 'vitest';
import { parseAptSimulation } from '../src/index.ts';

// As printed by apt 2.6 on Debian 12 for `apt-get --simulate install python3-jwcrypto`.
const bookworm = `Reading package lists...
Building dependency tree...
Reading state information...
The following additional packages will be installed:
  python3-deprecated python3-wrapt
The following NEW packages will be installed:
  python3-deprecated python3-jwcrypto python3-wrapt
0 upgraded, 3 newly installed, 0 to remove and 143 not upgraded.
Inst python3-wrapt (1.14.1-2+b2 Debian:12.15/oldstable [amd64])
Inst python3-deprecated (1.2.13-3 Debian:12.15/oldstable [all])
Inst python3-jwcrypto (1.1.0-1+deb12u1 Debian:12.15/oldstable [all])
Conf python3-wrapt (1.14.1-2+b2 Debian:12.15/oldstable [amd64])
Conf python3-deprecated (1.2.13-3 Debian:12.15/oldstable [all])
Conf python3-jwcrypto (1.1.0-1+deb12u1 Debian:12.15/oldstable [all])
`;

describe('parseAptSimulation', () => {
  it('reads the packages apt would install, in its order, and ignores the Conf lines', () => {
    expect(parseAptSimulation(bookworm)).toEqual([
      { name: 'python3-wrapt', version: '1.14.1-2+b2', arch: 'amd64' },
      { name: 'python3-deprecated', version: '1.2.13-3', arch: 'all' },
      { name: 'python3-jwcrypto', version: '1.1.0-1+deb12u1', arch: 'all' },
    ]);
  });

  it('keeps the installed version of an upgrade, several origins, epochs and foreign architectures', () => {
    const output = [
      'Inst python3-cryptography [38.0.4-3] (38.0.4-3+deb12u1 Debian:12.15/oldstable, Debian-Security:12/oldstable-security [amd64])',
      'Inst libfoo1:i386 (1:2.0-1 Debian:12.15/oldstable [i386]) []',
    ].join('\n');
    expect(parseAptSimulation(output)).toEqual([
      {
        name: 'python3-cryptography',
        version: '38.0.4-3+deb12u1',
        arch: 'amd64',
        installed: '38.0.4-3',
      },
      { name: 'libfoo1:i386', version: '1:2.0-1', arch: 'i386' },
    ]);
  });

  it('finds nothing when everything is installed already', () => {
    expect(
      parseAptSimulation(
        'Reading package lists...\npython3-jwcrypto is already the newest version (1.1.0-1+deb12u1).\n' +
          '0 upgraded, 0 newly installed, 0 to remove and 0 not upgraded.\n',
      ),
    ).toEqual([]);
  });
});
