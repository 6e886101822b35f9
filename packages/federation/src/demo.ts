import { fileURLToPath } from 'node:url';

/**
 * The bundled demo federation (`demo/federation.yaml`) that `mosaic dev` loads when no
 * `--federation` is given: four agencies in three jurisdictions and the group EU27, with
 * no keys — the hub generates them.
 */
export const DEMO_FEDERATION_PATH = fileURLToPath(
  new URL('../demo/federation.yaml', import.meta.url),
);
