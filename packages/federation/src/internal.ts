// Test fixtures for this package's and sibling packages' tests: not part of the public API.
export { agencyKeys, ed25519Jwks, policeFederation, validFederation, toYaml } from './fixtures.ts';
