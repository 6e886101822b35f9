import { readFile } from 'node:fs/promises';
import {
  generateHubKey,
  hubJwks,
  type HubPrivateJwk,
  type HubPublicJwk,
  type HubSigningKey,
} from '@mosaic/audit-log';
import { ErrorCode, MosaicError } from '@mosaic/errors';
import { writeFileAtomic } from './files.ts';

/** The name of the hub's checkpoint key (the checkpoints' origin line). */
const HUB_KEY_NAME = 'mosaic-hub';

interface StoredHubKey {
  name: string;
  privateJwk: HubPrivateJwk;
  publicJwk: HubPublicJwk;
}

/**
 * The hub's Ed25519 checkpoint key: `<dataDir>/hub.jwk` (0600), generated on first start
 * and kept for good, so every checkpoint ever signed verifies with `<dataDir>/hub.jwks`
 * (rewritten at each start from the private key file).
 */
export async function ensureHubKey(keyFile: string, jwksFile: string): Promise<HubSigningKey> {
  let stored: StoredHubKey;
  try {
    stored = JSON.parse(await readFile(keyFile, 'utf8')) as StoredHubKey;
  } catch (err) {
    if (!(err instanceof Error && 'code' in err && err.code === 'ENOENT'))
      throw new MosaicError(ErrorCode.HubDataDir, `cannot read the hub key ${keyFile}`, {
        details: { path: keyFile },
        cause: err,
      });
    const key = await generateHubKey(HUB_KEY_NAME);
    stored = { name: key.name, privateJwk: key.privateJwk, publicJwk: key.publicJwk };
    await writeFileAtomic(keyFile, `${JSON.stringify(stored, null, 2)}\n`, 0o600);
  }
  await writeFileAtomic(
    jwksFile,
    `${JSON.stringify(hubJwks([{ name: stored.name, publicJwk: stored.publicJwk }]), null, 2)}\n`,
    0o644,
  );
  return { name: stored.name, privateJwk: stored.privateJwk };
}
