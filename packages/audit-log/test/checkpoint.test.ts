import { describe, expect, it } from 'vitest';
import {
  formatCheckpoint,
  generateHubKey,
  hubJwks,
  hubKeysFromJwks,
  leafHash,
  merkleRoot,
  noteKeyId,
  parseCheckpoint,
  signCheckpoint,
  verifyCheckpoint,
} from '../src/index.ts';
import { verifyNote } from '../src/note.ts';
import { noteVerifiers } from '../src/verify-checkpoint.ts';

const code = (c: string) => expect.objectContaining({ code: c }) as unknown;
const root = merkleRoot([leafHash(new Uint8Array([1])), leafHash(new Uint8Array([2]))]);

describe('checkpoint key ids (C2SP signed-note, Ed25519)', () => {
  // golang.org/x/mod/sumdb/note documentation: verifier key PeterNeumann+c74f20a3+ARpc2Qc…
  const vkey = Buffer.from('ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW', 'base64');
  const publicKey = new Uint8Array(vkey.subarray(1));

  it('is SHA-256(name || 0x0A || 0x01 || key)[:4] (known answer)', () => {
    expect(vkey[0]).toBe(0x01);
    expect(Buffer.from(noteKeyId('PeterNeumann', publicKey)).toString('hex')).toBe('c74f20a3');
  });

  it('verifies the signed note of the same documentation (known answer)', () => {
    const text =
      'If you think cryptography is the answer to your problem,\n' +
      "then you don't know what your problem is.\n";
    const note = `${text}\n\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n`;
    const [verifier] = noteVerifiers(
      hubKeysFromJwks({
        keys: [
          {
            kty: 'OKP',
            crv: 'Ed25519',
            kid: 'PeterNeumann',
            x: Buffer.from(publicKey).toString('base64url'),
          },
        ],
      }),
    );
    expect(verifyNote(note, [verifier!]).text).toBe(text);
    expect(() => verifyNote(note.replace('cryptography', 'Cryptography'), [verifier!])).toThrow(
      code('ERR_CHECKPOINT'),
    );
  });
});

describe('signed checkpoints', () => {
  it('round-trip: format, sign, parse, verify', async () => {
    const key = await generateHubKey('mosaic-hub');
    const body = formatCheckpoint({ origin: 'mosaic-hub', size: 2, root });
    expect(body).toBe(`mosaic-hub\n2\n${Buffer.from(root).toString('base64')}\n`);
    const signed = signCheckpoint(body, key);
    const lines = signed.split('\n');
    expect(lines.slice(0, 4)).toEqual([
      'mosaic-hub',
      '2',
      Buffer.from(root).toString('base64'),
      '',
    ]);
    expect(lines[4]).toMatch(/^\u2014 mosaic-hub [A-Za-z0-9+/]{91}=$/);
    const blob = Buffer.from(lines[4]!.split(' ')[2]!, 'base64');
    expect(blob.subarray(0, 4)).toEqual(
      Buffer.from(noteKeyId('mosaic-hub', Buffer.from(key.publicJwk.x, 'base64url'))),
    );
    expect(parseCheckpoint(signed)).toMatchObject({
      origin: 'mosaic-hub',
      size: 2,
      root,
      extensions: [],
    });
    const keys = hubKeysFromJwks(JSON.parse(JSON.stringify(hubJwks([key]))));
    expect(verifyCheckpoint(signed, keys)).toEqual({ origin: 'mosaic-hub', size: 2, root });
    expect(verifyCheckpoint(signed, keys, { origin: 'mosaic-hub' }).size).toBe(2);
    expect(() => verifyCheckpoint(signed, keys, { origin: 'other' })).toThrow(
      code('ERR_CHECKPOINT'),
    );
  });

  it('publishes only public members in the JWKS, kid = key name', async () => {
    const key = await generateHubKey('mosaic-hub');
    const jwks = hubJwks([key]);
    expect(jwks).toEqual({
      keys: [
        {
          kty: 'OKP',
          crv: 'Ed25519',
          alg: 'EdDSA',
          use: 'sig',
          kid: 'mosaic-hub',
          x: key.publicJwk.x,
        },
      ],
    });
    expect(JSON.stringify(jwks)).not.toContain(key.privateJwk.d);
    expect(() => hubKeysFromJwks({ keys: [key.privateJwk] })).toThrow(code('ERR_KEY_FILE'));
    await expect(generateHubKey('bad name')).rejects.toThrow(code('ERR_CHECKPOINT'));
    await expect(generateHubKey('a+b')).rejects.toThrow(code('ERR_CHECKPOINT'));
  });

  it('refuses a tampered body, signature or key', async () => {
    const key = await generateHubKey('mosaic-hub');
    const other = await generateHubKey('mosaic-hub');
    const keys = hubKeysFromJwks(hubJwks([key]));
    const signed = signCheckpoint(formatCheckpoint({ origin: 'mosaic-hub', size: 2, root }), key);
    const tampered = [
      signed.replace('\n2\n', '\n3\n'),
      signed.replace('mosaic-hub\n', 'mosaic-hux\n'),
      signed.replace(
        Buffer.from(root).toString('base64'),
        Buffer.from(merkleRoot([])).toString('base64'),
      ),
    ];
    const sigLine = signed.split('\n')[4]!;
    const sig = Buffer.from(sigLine.split(' ')[2]!, 'base64');
    for (let byte = 0; byte < sig.length; byte += 7) {
      const bad = Buffer.from(sig);
      bad[byte]! ^= 0x01;
      tampered.push(signed.replace(sigLine, `\u2014 mosaic-hub ${bad.toString('base64')}`));
    }
    for (const text of tampered)
      expect(() => verifyCheckpoint(text, keys)).toThrow(code('ERR_CHECKPOINT'));
    // Another key under the same name: its key id differs, so no known signature remains.
    expect(() =>
      verifyCheckpoint(
        signCheckpoint(formatCheckpoint({ origin: 'mosaic-hub', size: 2, root }), other),
        keys,
      ),
    ).toThrow(code('ERR_CHECKPOINT'));
    // Another name with the right key bytes is not the hub.
    expect(() =>
      verifyCheckpoint(signed, [{ name: 'other-hub', publicJwk: key.publicJwk }]),
    ).toThrow(code('ERR_CHECKPOINT'));
    // A cosignature by an unknown witness is ignored; an invalid one by a known key is not.
    const witness = await generateHubKey('witness');
    const cosigned =
      signed +
      signCheckpoint(signed.slice(0, signed.indexOf('\n\n') + 1), witness).split('\n\n')[1]!;
    expect(verifyCheckpoint(cosigned, keys).size).toBe(2);
    expect(() =>
      verifyCheckpoint(cosigned, [
        ...keys,
        ...hubKeysFromJwks(hubJwks([{ name: 'witness', publicJwk: other.publicJwk }])),
      ]),
    ).not.toThrow();
    expect(verifyCheckpoint(cosigned, hubKeysFromJwks(hubJwks([witness]))).size).toBe(2);
  });

  it('refuses malformed notes', async () => {
    const key = await generateHubKey('mosaic-hub');
    const keys = hubKeysFromJwks(hubJwks([key]));
    const body = formatCheckpoint({ origin: 'mosaic-hub', size: 2, root });
    const signed = signCheckpoint(body, key);
    for (const text of [
      body,
      signed.slice(0, -1),
      signed.replace('\n2\n', '\n02\n'),
      signed.replace('\n2\n', '\n-2\n'),
      signed.replace('\n2\n', '\n9007199254740993\n'),
      signed.replace('\u2014', '-'),
      signed.replace('mosaic-hub\n', 'mosaic\u0000hub\n'),
      `${signed}\n`,
      'x'.repeat(70_000),
    ])
      expect(() => verifyCheckpoint(text, keys)).toThrow(code('ERR_CHECKPOINT'));
    expect(() => formatCheckpoint({ origin: 'a\nb', size: 1, root })).toThrow(
      code('ERR_CHECKPOINT'),
    );
    expect(() => formatCheckpoint({ origin: 'o', size: -1, root })).toThrow(code('ERR_CHECKPOINT'));
    expect(() => formatCheckpoint({ origin: 'o', size: 1, root: root.slice(1) })).toThrow(
      code('ERR_CHECKPOINT'),
    );
    expect(() => signCheckpoint(signed, key)).toThrow(code('ERR_CHECKPOINT'));
    const foreignX = (await generateHubKey('x')).publicJwk.x;
    expect(() =>
      signCheckpoint(body, { name: 'mosaic-hub', privateJwk: { ...key.privateJwk, x: foreignX } }),
    ).toThrow(code('ERR_KEY_FILE'));
  });
});
