import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ARCHITECTURE_DOC, withPackagesSection } from '../scripts/dependency-graph.ts';

const root = join(import.meta.dirname, '..');

describe('docs/architecture.md', () => {
  it('lists every package with the dependencies its manifest declares (run `npm run docs` after changing one)', async () => {
    const committed = await readFile(join(root, ARCHITECTURE_DOC), 'utf8');
    expect(await withPackagesSection(committed, root)).toBe(committed);
  });
});
