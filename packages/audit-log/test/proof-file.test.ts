import { beforeAll, describe, expect, it } from 'vitest';
import {
  checkProofFile,
  generateHubKey,
  hubJwks,
  parseProofFile,
  proofFileSchema,
  proveInclusion,
  type HubKey,
  type ProofFile,
} from '../src/index.ts';
import { buildLog, type BuiltLog } from './support/log.ts';

const code = (c: string) => expect.objectContaining({ code: c }) as unknown;
const bytes = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value));

let key: HubKey;
let built: BuiltLog;
let jwks: unknown;
/** Entry 2 of a log of 8 entries, proved against the checkpoint of size 8. */
let proof: ProofFile;

beforeAll(async () => {
  key = await generateHubKey('hub.test');
  built = buildLog(key, 8, 4);
  jwks = JSON.parse(JSON.stringify(hubJwks([key]))) as unknown;
  const item = built.items[2]!;
  proof = proveInclusion(built.log, item.index, item.data, {
    size: 8,
    text: built.checkpoints[1]!,
  });
});

describe('proof files', () => {
  it('round-trip through JSON and check with the hub key: index, size and the entry action', () => {
    const read = parseProofFile(bytes(proof), 'proof.json');
    expect(read).toEqual(proof);
    expect(checkProofFile(read, jwks, 'proof.json')).toEqual({
      index: 2,
      size: 8,
      action: 'report.accepted',
    });
  });

  it('prove against an earlier checkpoint: the path to its size', () => {
    const item = built.items[1]!;
    const early = proveInclusion(built.log, item.index, item.data, {
      size: 4,
      text: built.checkpoints[0]!,
    });
    expect(early.size).toBe(4);
    expect(checkProofFile(early, jwks, 'early.json')).toMatchObject({ index: 1, size: 4 });
  });

  it('refuses what is not JSON, or not shaped as a proof, naming the file', () => {
    expect(() => parseProofFile(new TextEncoder().encode('{'), 'p.json')).toThrow(
      /^p\.json: not a proof file \(JSON\)$/,
    );
    for (const bad of [
      null,
      [],
      { ...proof, index: 1.5 },
      { ...proof, size: '8' },
      { ...proof, proof: ['AB'.repeat(32)] },
      { ...proof, checkpoint: undefined },
    ])
      expect(() => parseProofFile(bytes(bad), '-'), JSON.stringify(bad)).toThrow(
        expect.objectContaining({
          code: 'ERR_PROOF_INVALID',
          message: '-: not a proof file: index, size, leafHash, entry, proof, checkpoint',
          details: { file: '-' },
        }),
      );
    expect(proofFileSchema.safeParse(proof).success).toBe(true);
  });

  it('refuses a changed entry, leaf, path, size or index, and a checkpoint of another key', async () => {
    const other = hubJwks([await generateHubKey('hub.other')]);
    // Another entry of the log: a valid entry, but not the one the leaf hash names.
    const foreignEntry = Buffer.from(built.items[5]!.data).toString('base64');
    const cases: [Partial<ProofFile>, unknown, RegExp][] = [
      [{}, other, /checkpoint refused/],
      [{ size: 9 }, jwks, /the proof is for size 9, the checkpoint signs 8/],
      [{ entry: foreignEntry }, jwks, /the entry does not hash to the leaf hash/],
      [{ index: 3 }, jwks, /inclusion proof of index 3 does not lead to the signed root/],
      [{ proof: proof.proof.slice(1) }, jwks, /does not lead to the signed root/],
    ];
    for (const [change, keys, message] of cases)
      expect(() => checkProofFile({ ...proof, ...change }, keys, 'p.json')).toThrow(
        expect.objectContaining({
          code: 'ERR_PROOF_INVALID',
          message: expect.stringMatching(message) as string,
        }),
      );
    expect(() => checkProofFile(proof, other, 'p.json')).toThrow(code('ERR_PROOF_INVALID'));
  });
});
