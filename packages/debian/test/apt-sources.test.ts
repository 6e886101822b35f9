import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  findDebianMirror,
  parseDeb822Sources,
  parseOneLineSources,
  readAptSources,
} from '../src/index.ts';

// Host names are placeholders: the code never knows any mirror by name.
const deb822 = `Types: deb
# http://snapshot.example/archive/debian/20250520T000000Z
URIs: http://mirror.example/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
# http://snapshot.example/archive/debian-security/20250520T000000Z
URIs: http://mirror.example/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
`;

describe('parseDeb822Sources', () => {
  it('flattens stanzas into one entry per type, URI and suite, ignoring comments', () => {
    expect(parseDeb822Sources(deb822, 'debian.sources')).toEqual([
      {
        type: 'deb',
        uri: 'http://mirror.example/debian',
        suite: 'bookworm',
        components: ['main'],
        signedBy: '/usr/share/keyrings/debian-archive-keyring.gpg',
        file: 'debian.sources',
      },
      expect.objectContaining({ suite: 'bookworm-updates' }),
      expect.objectContaining({
        uri: 'http://mirror.example/debian-security',
        suite: 'bookworm-security',
      }),
    ]);
  });

  it('skips disabled stanzas and keeps several types, URIs and components', () => {
    const text = `Types: deb
URIs: http://off.example/debian
Suites: trixie
Components: main
Enabled: no

types: deb deb-src
uris: http://a.example/debian http://b.example/debian
suites: trixie
components: main contrib non-free-firmware
`;
    const entries = parseDeb822Sources(text);
    expect(entries.map((e) => `${e.type} ${e.uri}`)).toEqual([
      'deb http://a.example/debian',
      'deb http://b.example/debian',
      'deb-src http://a.example/debian',
      'deb-src http://b.example/debian',
    ]);
    expect(entries[0]!.components).toEqual(['main', 'contrib', 'non-free-firmware']);
    expect(entries[0]!.signedBy).toBeUndefined();
  });

  it('drops an inline Signed-By key (multi-line) but keeps the entry', () => {
    const text = `Types: deb
URIs: http://mirror.example/debian
Suites: bookworm
Components: main
Signed-By:
 -----BEGIN PGP PUBLIC KEY BLOCK-----
 .
 mQINBGPL0BUBEADmW5NdOOHwPIJlgPu6JDcKw/NZJPR8lsD9K7UgrF6nP+o7s9lU
 -----END PGP PUBLIC KEY BLOCK-----
Architectures: amd64
`;
    const [entry] = parseDeb822Sources(text);
    expect(entry).toMatchObject({ suite: 'bookworm', components: ['main'] });
    expect(entry!.signedBy).toBeUndefined();
  });

  it('handles CRLF line ends and blank lines made of spaces', () => {
    const text =
      'Types: deb\r\nURIs: http://a.example/debian\r\nSuites: sid\r\nComponents: main\r\n  \r\n';
    expect(parseDeb822Sources(text)).toEqual([expect.objectContaining({ suite: 'sid' })]);
  });
});

describe('parseOneLineSources', () => {
  it('reads options, comments and several components', () => {
    const text = `# deb http://commented.example/debian bookworm main
deb [arch=amd64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://mirror.example/debian bookworm main contrib
deb-src http://mirror.example/debian bookworm main
deb http://security.example/debian-security bookworm-security main # trailing comment

deb http://mirror.example/debian bookworm-updates main
deb [ trusted=yes ] file:/srv/local ./
`;
    const entries = parseOneLineSources(text, 'sources.list');
    expect(entries).toEqual([
      {
        type: 'deb',
        uri: 'http://mirror.example/debian',
        suite: 'bookworm',
        components: ['main', 'contrib'],
        signedBy: '/usr/share/keyrings/debian-archive-keyring.gpg',
        file: 'sources.list',
      },
      expect.objectContaining({ type: 'deb-src', suite: 'bookworm' }),
      expect.objectContaining({ suite: 'bookworm-security', components: ['main'] }),
      expect.objectContaining({ suite: 'bookworm-updates' }),
      expect.objectContaining({ uri: 'file:/srv/local', suite: './', components: [] }),
    ]);
    expect(entries[1]!.signedBy).toBeUndefined();
  });

  it('ignores lines that are not deb or deb-src', () => {
    expect(parseOneLineSources('rpm http://x.example/ a main\ngarbage\n')).toEqual([]);
  });
});

describe('findDebianMirror', () => {
  it('takes the first plain Debian release with main', () => {
    const entries = [
      ...parseOneLineSources(
        [
          'deb-src http://src.example/debian bookworm main',
          'deb http://security.example/debian-security bookworm-security main',
          'deb http://security.example/debian-security bookworm/updates main',
          'deb http://mirror.example/debian bookworm-updates main',
          'deb http://vendor.example/apt cloud-sdk-bookworm main',
          'deb http://nodesource.example/node_20.x nodistro main',
          'deb http://ubuntu.example/ubuntu jammy main',
          'deb http://contrib.example/debian bookworm contrib',
          'deb http://mirror.example/debian bookworm main',
          'deb http://second.example/debian trixie main',
        ].join('\n'),
      ),
    ];
    expect(findDebianMirror(entries)?.uri).toBe('http://mirror.example/debian');
  });

  it('recognises a future release by the Debian keyring', () => {
    const entries = parseOneLineSources(
      'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] https://m.example/debian zeus main',
    );
    expect(findDebianMirror(entries)?.suite).toBe('zeus');
  });

  it('finds none when only security, updates or foreign repositories are configured', () => {
    expect(findDebianMirror(parseDeb822Sources(deb822).slice(1))).toBeUndefined();
    expect(findDebianMirror([])).toBeUndefined();
  });
});

describe('readAptSources', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('reads sources.list first, then sources.list.d/*.list and *.sources by name', () => {
    dir = mkdtempSync(join(tmpdir(), 'apt-'));
    mkdirSync(join(dir, 'sources.list.d'));
    writeFileSync(join(dir, 'sources.list'), 'deb http://one.example/debian bookworm main\n');
    writeFileSync(join(dir, 'sources.list.d', 'b.sources'), deb822);
    writeFileSync(
      join(dir, 'sources.list.d', 'a.list'),
      'deb http://two.example/debian sid main\n',
    );
    writeFileSync(
      join(dir, 'sources.list.d', 'c.list.disabled'),
      'deb http://no.example/ sid main\n',
    );
    expect(readAptSources(dir).map((e) => e.uri)).toEqual([
      'http://one.example/debian',
      'http://two.example/debian',
      'http://mirror.example/debian',
      'http://mirror.example/debian',
      'http://mirror.example/debian-security',
    ]);
  });

  it('returns nothing for a missing apt directory', () => {
    expect(readAptSources('/nonexistent/apt')).toEqual([]);
  });
});
