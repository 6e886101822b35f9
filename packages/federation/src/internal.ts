// Test fixtures for this package's and sibling packages' tests: not part of the public API.
export { ed25519Jwks, validFederation, toYaml } from './fixtures.ts';
