import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** One repository line of the machine's apt configuration, flattened to a single suite. */
export interface AptSource {
  type: 'deb' | 'deb-src';
  uri: string;
  suite: string;
  components: string[];
  /** A keyring path or fingerprint(s); absent when none is given or the key is inline. */
  signedBy?: string;
  /** The file the entry came from. */
  file: string;
}

/** The keyring of the Debian archive as shipped by `debian-archive-keyring`. */
export const debianArchiveKeyring = '/usr/share/keyrings/debian-archive-keyring.gpg';

const knownDebianSuites = new Set([
  'jessie',
  'stretch',
  'buster',
  'bullseye',
  'bookworm',
  'trixie',
  'forky',
  'duke',
  'sid',
  'oldoldstable',
  'oldstable',
  'stable',
  'testing',
  'unstable',
]);

function isType(word: string): word is AptSource['type'] {
  return word === 'deb' || word === 'deb-src';
}

/** Reads one deb822 `.sources` file (RFC 822 style stanzas separated by blank lines). */
export function parseDeb822Sources(text: string, file = '<deb822>'): AptSource[] {
  const stanzas: Map<string, string>[] = [];
  let fields = new Map<string, string>();
  let current: string | undefined;
  for (const line of text.split(/\r?\n/)) {
    if (line.startsWith('#')) continue;
    if (line.trim() === '') {
      if (fields.size > 0) stanzas.push(fields);
      fields = new Map();
      current = undefined;
    } else if (/^[ \t]/.test(line)) {
      // A continuation line, e.g. an inline key under Signed-By.
      if (current !== undefined) fields.set(current, `${fields.get(current) ?? ''}\n${line}`);
    } else {
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      current = line.slice(0, colon).trim().toLowerCase();
      fields.set(current, line.slice(colon + 1).trim());
    }
  }
  if (fields.size > 0) stanzas.push(fields);

  const entries: AptSource[] = [];
  for (const stanza of stanzas) {
    if (/^(no|false|0)$/i.test(stanza.get('enabled') ?? 'yes')) continue;
    const words = (name: string): string[] =>
      (stanza.get(name) ?? '').split(/\s+/).filter((w) => w !== '');
    const signedBy = stanza.get('signed-by');
    const keyRef =
      signedBy !== undefined && signedBy !== '' && !signedBy.includes('\n') ? signedBy : undefined;
    for (const type of words('types').filter(isType))
      for (const uri of words('uris'))
        for (const suite of words('suites'))
          entries.push({
            type,
            uri,
            suite,
            components: words('components'),
            ...(keyRef === undefined ? {} : { signedBy: keyRef }),
            file,
          });
  }
  return entries;
}

/** Reads a one-line-style `sources.list` (`deb [opts] URI suite components…`). */
export function parseOneLineSources(text: string, file = '<sources.list>'): AptSource[] {
  const entries: AptSource[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/#.*$/, '').trim();
    if (line === '') continue;
    const m = /^(\S+)\s+(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)((?:\s+\S+)*)$/.exec(line);
    if (m === null) continue;
    const [, type = '', options = '', uri = '', suite = ''] = m;
    if (!isType(type)) continue;
    let signedBy: string | undefined;
    for (const option of options.split(/\s+/)) {
      const eq = option.indexOf('=');
      if (eq > 0 && option.slice(0, eq) === 'signed-by') signedBy = option.slice(eq + 1);
    }
    entries.push({
      type,
      uri,
      suite,
      components: (m[5] ?? '').split(/\s+/).filter((w) => w !== ''),
      ...(signedBy === undefined || signedBy === '' ? {} : { signedBy }),
      file,
    });
  }
  return entries;
}

/**
 * The first Debian archive mirror among `sources`: a `deb` entry with component `main`
 * whose suite is a plain release name (`bookworm`, not `bookworm-security`,
 * `bookworm-updates` or `bookworm/updates`), recognised as Debian by its suite name or its
 * Debian archive keyring.
 */
export function findDebianMirror(sources: readonly AptSource[]): AptSource | undefined {
  return sources.find(
    (s) =>
      s.type === 'deb' &&
      s.components.includes('main') &&
      /^[a-z]+$/.test(s.suite) &&
      (knownDebianSuites.has(s.suite) || (s.signedBy ?? '').includes('debian-archive-keyring')) &&
      /^(https?|file|mirror\+\w+):/.test(s.uri),
  );
}

/**
 * Reads the machine's apt sources in apt's own order: `sources.list`, then the files of
 * `sources.list.d` (`*.list` and `*.sources`) sorted by name. Missing files are skipped.
 */
export function readAptSources(etcApt = '/etc/apt'): AptSource[] {
  const sources: AptSource[] = [];
  const main = join(etcApt, 'sources.list');
  const mainText = readOptional(main);
  if (mainText !== undefined) sources.push(...parseOneLineSources(mainText, main));
  const dir = join(etcApt, 'sources.list.d');
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch (err) {
    if (isNotFound(err)) return sources;
    throw err;
  }
  for (const name of names) {
    const file = join(dir, name);
    if (name.endsWith('.list')) {
      const text = readOptional(file);
      if (text !== undefined) sources.push(...parseOneLineSources(text, file));
    } else if (name.endsWith('.sources')) {
      const text = readOptional(file);
      if (text !== undefined) sources.push(...parseDeb822Sources(text, file));
    }
  }
  return sources;
}

function readOptional(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

function isNotFound(err: unknown): boolean {
  return err instanceof Error && 'code' in err && (err.code === 'ENOENT' || err.code === 'ENOTDIR');
}
