import { ErrorCode, MosaicError } from '@mosaic/errors';

const versionPattern = /\bv?(\d+)\.(\d+)(?:\.(\d+))?(?:-([0-9A-Za-z.-]+))?/;

/**
 * Extracts the version from `nats-server --version` output (`nats-server: v2.15.1`) or from
 * a bare version string. Returns `undefined` when the text holds no version.
 *
 * @example
 * ```ts
 * parseNatsVersion('nats-server: v2.15.1'); // '2.15.1'
 * parseNatsVersion('nats-server: v2.11.0-RC.2'); // '2.11.0-RC.2'
 * ```
 */
export function parseNatsVersion(output: string): string | undefined {
  const m = versionPattern.exec(output);
  if (m === null) return undefined;
  const [major = '0', minor = '0', patch = '0'] = [m[1], m[2], m[3]];
  return `${major}.${minor}.${patch}${m[4] === undefined ? '' : `-${m[4]}`}`;
}

interface Parsed {
  numbers: [number, number, number];
  pre: string[];
}

function parse(version: string): Parsed {
  const m = /^v?(\d+)\.(\d+)(?:\.(\d+))?(?:-([0-9A-Za-z.-]+))?$/.exec(version.trim());
  if (m === null)
    throw new MosaicError(ErrorCode.Usage, `not a version: ${JSON.stringify(version)}`);
  return {
    numbers: [Number(m[1]), Number(m[2]), Number(m[3] ?? '0')],
    pre: m[4] === undefined ? [] : m[4].split('.'),
  };
}

function comparePre(a: string[], b: string[]): number {
  // A release sorts after any of its pre-releases (2.11.0-RC.1 < 2.11.0).
  if (a.length === 0 || b.length === 0) return Math.sign(b.length - a.length);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i];
    const y = b[i];
    if (x === undefined || y === undefined) return x === undefined ? -1 : 1;
    const xn = /^\d+$/.test(x);
    const yn = /^\d+$/.test(y);
    if (xn && yn) {
      const d = Number(x) - Number(y);
      if (d !== 0) return Math.sign(d);
    } else if (xn !== yn) {
      return xn ? -1 : 1;
    } else if (x !== y) {
      return x < y ? -1 : 1;
    }
  }
  return 0;
}

/**
 * Compares two versions numerically (semver precedence, a missing patch counts as 0).
 * Returns -1, 0 or 1. Throws MosaicError `ERR_USAGE` for a string that is not a version.
 *
 * @example
 * ```ts
 * compareVersions('2.9.11', '2.10.0'); // -1
 * ```
 */
export function compareVersions(a: string, b: string): -1 | 0 | 1 {
  const x = parse(a);
  const y = parse(b);
  for (const [i, n] of x.numbers.entries()) {
    const d = n - y.numbers[i as 0 | 1 | 2];
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  const p = comparePre(x.pre, y.pre);
  return p < 0 ? -1 : p > 0 ? 1 : 0;
}

/**
 * The upstream part of a Debian package version: `1:2.10.27-1+b2` → `2.10.27`,
 * `2.11.0~rc1-1` → `2.11.0-rc1`. Returns `undefined` when no version can be read.
 */
export function debianUpstreamVersion(debianVersion: string): string | undefined {
  const noEpoch = debianVersion.trim().replace(/^\d+:/, '');
  const dash = noEpoch.lastIndexOf('-');
  const upstream = (dash > 0 ? noEpoch.slice(0, dash) : noEpoch)
    .replace(/[+].*$/, '')
    .replace('~', '-');
  const m = /^(\d+\.\d+(?:\.\d+)?(?:-[0-9A-Za-z.]+)?)$/.exec(upstream);
  return m?.[1] === undefined ? undefined : parseNatsVersion(m[1]);
}
