import { access } from 'node:fs/promises';
import { join } from 'node:path';
import type { Federation } from '@mosaic/federation';
import { generateAgencyKey, readPrivateKeyFile, type AgencyPublicJwk } from '@mosaic/signing';
import { writeFileAtomic } from './files.ts';

/** The key id of the signing keys `mosaic dev` makes for the demo agencies. */
export const DEMO_KEY_ID = 'demo';

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch (err) {
    if (err instanceof Error && 'code' in err && err.code === 'ENOENT') return false;
    throw err;
  }
}

/** The demo key of an agency: read from `<keysDir>/<agency>.jwk`, made there the first time. */
async function demoKey(
  keysDir: string,
  agency: string,
): Promise<{ keyId: string; publicJwk: AgencyPublicJwk }> {
  const path = join(keysDir, `${agency}.jwk`);
  if (await exists(path)) {
    const { keyId, privateJwk } = await readPrivateKeyFile(path);
    const { kty, crv, alg, use, kid, x } = privateJwk;
    return { keyId, publicJwk: { kty, crv, alg, use, kid, x } };
  }
  const pair = await generateAgencyKey(agency, { keyId: DEMO_KEY_ID });
  await writeFileAtomic(path, `${JSON.stringify(pair.privateJwk, null, 2)}\n`);
  return { keyId: pair.keyId, publicJwk: pair.publicJwk };
}

/**
 * The demo federation with a signing key for every agency that has none: the private
 * halves live in `<keysDir>/<agency>.jwk` (mode 0600), made once and reused on restart.
 */
export async function withDemoKeys(federation: Federation, keysDir: string): Promise<Federation> {
  const agencies = [];
  for (const agency of federation.agencies) {
    if (agency.keys.length > 0) {
      agencies.push(agency);
      continue;
    }
    agencies.push({ ...agency, keys: [await demoKey(keysDir, agency.id)] });
  }
  return { ...federation, agencies };
}
