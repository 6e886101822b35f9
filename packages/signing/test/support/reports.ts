import { readFileSync, readdirSync } from 'node:fs';

const validDir = new URL('../../../../schemas/examples/valid/', import.meta.url);

/** Every valid example report of the contract, by file name. */
export function validExamples(): { name: string; bytes: Uint8Array }[] {
  const names = readdirSync(validDir)
    .filter((file) => file.endsWith('.json'))
    .sort();
  if (names.length === 0) throw new Error('no valid example report in schemas/examples/valid');
  return names.map((name) => ({
    name,
    bytes: new Uint8Array(readFileSync(new URL(name, validDir))),
  }));
}

/** The first valid example report of the contract, as a fresh mutable object. */
function exampleReport(): Record<string, unknown> {
  const [first] = validExamples();
  return JSON.parse(new TextDecoder().decode(first!.bytes)) as Record<string, unknown>;
}

/** A valid report issued by `agency`, with optional field overrides. */
export function reportFor(
  agency: string,
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  return { ...exampleReport(), issuer: agency, ...overrides };
}

/** The report as UTF-8 JSON bytes. */
export function bytesOf(report: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(report));
}

const invalidDir = new URL('../../../../schemas/examples/invalid/', import.meta.url);

/** Every invalid example report of the contract with the error code it must be refused with. */
export function invalidExamples(): { name: string; bytes: Uint8Array; code: string }[] {
  const expected = JSON.parse(readFileSync(new URL('expected.json', invalidDir), 'utf8')) as Record<
    string,
    { code: string }
  >;
  return Object.entries(expected).map(([name, { code }]) => ({
    name,
    code,
    bytes: new Uint8Array(readFileSync(new URL(name, invalidDir))),
  }));
}
