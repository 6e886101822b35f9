import { describe, expect, it } from 'vitest';
import {
  mirrorSuiteSourceLines,
  ownReleaseSourceLines,
  parseDeb822Sources,
  parseOneLineSources,
} from '../src/index.ts';

describe('ownReleaseSourceLines', () => {
  it("keeps the machine's release with its updates and security suites, main only", () => {
    const sources = [
      ...parseDeb822Sources(
        [
          'Types: deb',
          'URIs: http://deb.example/debian',
          'Suites: bookworm bookworm-updates bookworm-backports',
          'Components: main contrib',
          'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg',
          '',
          'Types: deb deb-src',
          'URIs: http://security.example/debian-security',
          'Suites: bookworm-security',
          'Components: main',
        ].join('\n'),
        'debian.sources',
      ),
      ...parseOneLineSources(
        'deb http://deb.example/debian trixie main\ndeb https://vendor.example/apt bookworm stable\n',
        'other.list',
      ),
    ];
    expect(ownReleaseSourceLines(sources, 'bookworm')).toEqual([
      'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.example/debian bookworm main',
      'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.example/debian bookworm-updates main',
      'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://security.example/debian-security bookworm-security main',
    ]);
  });
});

describe('mirrorSuiteSourceLines', () => {
  it("names the given suites of the mirror, signed like the mirror's own entry", () => {
    const [mirror] = parseOneLineSources(
      'deb [signed-by=/etc/apt/keyrings/debian.gpg] http://deb.example/debian bookworm main\n',
      'sources.list',
    );
    expect(mirror).toBeDefined();
    expect(mirrorSuiteSourceLines(mirror!, ['unstable', 'testing'])).toEqual([
      'deb [signed-by=/etc/apt/keyrings/debian.gpg] http://deb.example/debian unstable main',
      'deb [signed-by=/etc/apt/keyrings/debian.gpg] http://deb.example/debian testing main',
    ]);
  });
});
