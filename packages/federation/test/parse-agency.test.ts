import { describe, expect, it } from 'vitest';
import { parseAgency } from '../src/index.ts';
import { ed25519Jwks } from '../src/internal.ts';

const yaml = `id: be-police
name: Belgian Federal Police
kind: police
jurisdictions: [BE]
contact:
  email: demo-be@police.example
`;

describe('parseAgency', () => {
  it('parses one agency entry from YAML or JSON, with defaults', () => {
    expect(parseAgency(yaml)).toMatchObject({ id: 'be-police', keys: [], subscriptions: [] });
    const json = JSON.stringify({ ...parseAgency(yaml), jurisdictions: ['NL'] });
    expect(parseAgency(json).jurisdictions).toEqual(['NL']);
  });

  it('refuses unknown fields, bad ids and anchors with ERR_FEDERATION and paths', () => {
    const bad = () =>
      parseAgency(`${yaml}extra: 1\n`.replace('be-police', 'BE POLICE'), { source: 'x.yaml' });
    expect(bad).toThrow(expect.objectContaining({ code: 'ERR_FEDERATION' }));
    expect(bad).toThrow(/agency x\.yaml is invalid/);
    expect(() => parseAgency(`a: &x 1\nb: *x\n`)).toThrow(
      expect.objectContaining({ code: 'ERR_FEDERATION' }),
    );
  });

  it('refuses a private key loudly', () => {
    const { privateJwk } = ed25519Jwks();
    const text = JSON.stringify({
      ...parseAgency(yaml),
      keys: [{ keyId: 'k1', publicJwk: privateJwk }],
    });
    expect(() => parseAgency(text)).toThrow(/keys\[0\]\.publicJwk: holds a PRIVATE key/);
  });
});
