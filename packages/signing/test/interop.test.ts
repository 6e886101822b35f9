import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ensurePythonPackage, jwcrypto, pythonArgs } from '@mosaic/debian-python';
import type { PythonPackage } from '@mosaic/debian-python';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  REPORT_MEDIA_TYPE,
  generateAgencyKey,
  signReport,
  staticKeyLookup,
  verifyReport,
} from '../src/index.ts';
import type { AgencyKeyPair, KeyLookup } from '../src/index.ts';
import { bytesOf, reportFor } from './support/reports.ts';

const run = promisify(execFile);
const script = (name: string): string =>
  fileURLToPath(new URL(`./interop/${name}`, import.meta.url));
// A clean environment, so no PYTHONPATH or user site can swap in another jwcrypto.
const env = { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8', PYTHONNOUSERSITE: '1' };

// Debian's /usr/bin/python3 with python3-jwcrypto, installed or fetched into .cache/python by
// `npm run setup`; -I keeps PYTHONPATH and the user site out, the bootstrap adds the cache.
let jwcryptoFound: PythonPackage | undefined;
let jwcryptoMissing: string | undefined;

async function python(name: string, input: unknown): Promise<string> {
  if (jwcryptoFound === undefined) throw new Error('jwcrypto was not provided');
  const child = run(jwcryptoFound.python, pythonArgs(jwcryptoFound.paths, script(name)), {
    env,
    maxBuffer: 4 * 1024 * 1024,
  });
  child.child.stdin?.end(JSON.stringify(input));
  return (await child).stdout;
}

/** Fails (never skips) the interop tests when the independent implementation is absent. */
function requireJwcrypto(): void {
  if (jwcryptoMissing !== undefined) throw new Error(jwcryptoMissing);
}

let pair: AgencyKeyPair;
let keys: KeyLookup;
let payload: Uint8Array;

beforeAll(async () => {
  // Found in the cache after `npm run setup` (the pretest of `npm test`); fetched otherwise.
  await ensurePythonPackage(jwcrypto).then(
    (found) => {
      jwcryptoFound = found;
    },
    (err: unknown) => {
      jwcryptoMissing = err instanceof Error ? err.message : String(err);
    },
  );
  pair = await generateAgencyKey('nca-uk', { keyId: 'interop' });
  keys = staticKeyLookup([
    { kid: pair.kid, agency: pair.agency, keyId: pair.keyId, publicJwk: pair.publicJwk },
  ]);
  // Odd white space on purpose: both sides must keep the exact bytes.
  payload = new TextEncoder().encode(`${JSON.stringify(reportFor('nca-uk'), null, '\t')}\n`);
}, 600_000);

describe('interop with jwcrypto (an independent JOSE implementation)', () => {
  it('jwcrypto verifies a JWS from signReport and returns the same payload bytes', async () => {
    requireJwcrypto();
    const jws = await signReport(payload, pair.privateJwk);
    const out = JSON.parse(await python('verify_jws.py', { jws, publicJwk: pair.publicJwk })) as {
      payload: string;
      header: unknown;
    };
    expect(new Uint8Array(Buffer.from(out.payload, 'base64url'))).toEqual(payload);
    expect(out.header).toEqual({ alg: 'EdDSA', kid: pair.kid, typ: REPORT_MEDIA_TYPE });
  });

  it('jwcrypto refuses a JWS from signReport when checked against another key', async () => {
    requireJwcrypto();
    const other = await generateAgencyKey('nca-uk', { keyId: 'interop' });
    const jws = await signReport(payload, pair.privateJwk);
    await expect(python('verify_jws.py', { jws, publicJwk: other.publicJwk })).rejects.toThrow(
      /InvalidJWSSignature/,
    );
  });

  it('verifyReport accepts a JWS signed by jwcrypto with a key from generateAgencyKey', async () => {
    requireJwcrypto();
    const protectedHeader = JSON.stringify({ alg: 'EdDSA', kid: pair.kid, typ: REPORT_MEDIA_TYPE });
    const jws = (
      await python('sign_jws.py', {
        privateJwk: pair.privateJwk,
        payload: Buffer.from(payload).toString('base64url'),
        protected: protectedHeader,
      })
    ).trim();
    const verified = await verifyReport(jws, keys);
    expect(verified.payload).toEqual(payload);
    expect(verified.header).toEqual({ alg: 'EdDSA', kid: pair.kid, typ: REPORT_MEDIA_TYPE });
    expect(verified.report.issuer).toBe('nca-uk');
    // Ed25519 is deterministic, so two implementations over the same input agree byte for byte.
    expect(jws).toBe(await signReport(payload, pair.privateJwk));
  });

  it('verifyReport still refuses a jwcrypto JWS whose header breaks the rules', async () => {
    requireJwcrypto();
    const jws = (
      await python('sign_jws.py', {
        privateJwk: pair.privateJwk,
        payload: Buffer.from(bytesOf(reportFor('nca-uk'))).toString('base64url'),
        protected: JSON.stringify({ alg: 'EdDSA', kid: pair.kid, typ: 'JWT' }),
      })
    ).trim();
    await expect(verifyReport(jws, keys)).rejects.toMatchObject({ code: 'ERR_JWS_TYP' });
  });
});
