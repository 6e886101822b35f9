import { createPrivateKey, sign as cryptoSign } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { parseReport } from '@mosaic/contract';
import { isMosaicError } from '@mosaic/errors';
import {
  generateAgencyKey,
  REPORT_MEDIA_TYPE,
  signReport,
  staticKeyLookup,
  verifyReport,
  type AgencyKeyPair,
  type KeyRecord,
} from '@mosaic/signing';
import { defineCommand } from '../command.ts';
import { ExitCode } from '../exit-codes.ts';
import { writeLine } from '../io.ts';

const examplesDir = new URL('../../../../schemas/examples/', import.meta.url);

function b64url(text: string): string {
  return Buffer.from(text).toString('base64url');
}

export const demo = defineCommand({
  path: ['demo'],
  summary: 'sign and verify the example reports, and show what gets rejected',
  usage: 'Usage: mosaic demo',
  description: `Generates a throw-away Ed25519 key for every agency that issues an example report in
schemas/examples/valid, signs each example, verifies it as a recipient would, and then
shows the hub refusing a tampered report, a report signed with another agency's key, an
unsigned ("alg": "none") report and a report that breaks the schema. Keys live in memory
only.`,
  options: {},
  footer: 'Exit codes: 0 every check behaved as expected, 1 otherwise.',
  positionals: { min: 0, max: 0 },
  async run(_args, io) {
    const dir = new URL('valid/', examplesDir);
    const files = (await readdir(dir)).filter((f) => f.endsWith('.json')).sort();
    const keys = new Map<string, AgencyKeyPair>();
    const records: KeyRecord[] = [];
    const signed: { file: string; jws: string; issuer: string; kid: string }[] = [];
    for (const file of files) {
      const bytes = await readFile(new URL(file, dir));
      const { issuer } = parseReport(bytes);
      let pair = keys.get(issuer);
      if (!pair) {
        pair = await generateAgencyKey(issuer, { keyId: 'demo' });
        keys.set(issuer, pair);
        records.push({
          kid: pair.kid,
          agency: pair.agency,
          keyId: pair.keyId,
          publicJwk: pair.publicJwk,
        });
      }
      signed.push({ file, issuer, kid: pair.kid, jws: await signReport(bytes, pair.privateJwk) });
    }
    const lookup = staticKeyLookup(records);
    let ok = true;
    writeLine(io.stdout, `signed and verified (${String(keys.size)} agencies, keys in memory):`);
    for (const { file, jws } of signed) {
      const { report, kid } = await verifyReport(jws, lookup);
      writeLine(io.stdout, `  accepted  ${file.padEnd(32)} ${kid.padEnd(18)} ${report.reportId}`);
    }

    const first = signed[0];
    const second = signed.find((s) => s.issuer !== first?.issuer);
    if (!first || !second) throw new Error('the demo needs examples from two agencies');
    const [header = '', payload = '', signature = ''] = first.jws.split('.');
    const tampered = Buffer.from(payload, 'base64url')
      .toString('utf8')
      .replace(/"confidence":\s*\d+/, '"confidence": 100');
    const secondKey = keys.get(second.issuer);
    if (!secondKey) throw new Error('missing demo key');
    const cases: { what: string; jws: () => Promise<string> }[] = [
      {
        what: 'payload changed after signing',
        jws: () => Promise.resolve(`${header}.${b64url(tampered)}.${signature}`),
      },
      {
        what: `${first.issuer}'s report re-signed with ${second.issuer}'s key`,
        // Signed by hand: signReport itself would refuse to sign another agency's report.
        jws: () => {
          const h = b64url(
            JSON.stringify({ alg: 'EdDSA', kid: secondKey.kid, typ: REPORT_MEDIA_TYPE }),
          );
          const key = createPrivateKey({ key: secondKey.privateJwk, format: 'jwk' });
          const sig = cryptoSign(null, Buffer.from(`${h}.${payload}`), key).toString('base64url');
          return Promise.resolve(`${h}.${payload}.${sig}`);
        },
      },
      {
        what: 'unsigned report ("alg": "none")',
        jws: () =>
          Promise.resolve(
            `${b64url(JSON.stringify({ alg: 'none', kid: first.kid, typ: REPORT_MEDIA_TYPE }))}.${payload}.`,
          ),
      },
      {
        what: 'a report with wrong IBAN check digits',
        jws: async () =>
          signReport(
            await readFile(new URL('invalid/iban-check-digits.json', examplesDir)),
            secondKey.privateJwk,
          ),
      },
    ];
    writeLine(io.stdout, 'refused:');
    for (const c of cases) {
      try {
        await verifyReport(await c.jws(), lookup);
        ok = false;
        writeLine(io.stdout, `  NOT REFUSED  ${c.what}`);
      } catch (err) {
        if (!isMosaicError(err)) throw err;
        writeLine(io.stdout, `  ${err.code.padEnd(22)} ${c.what}`);
      }
    }
    return ok ? ExitCode.Ok : ExitCode.Rejected;
  },
});
