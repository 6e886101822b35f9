import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { ExitCode } from '../src/index.ts';
import { README, withCommands } from '../scripts/readme.ts';

describe('packages/cli/README.md', () => {
  it('holds the command reference the option definitions generate', async () => {
    const readme = await readFile(README, 'utf8');
    // Stale: run "npx tsx packages/cli/scripts/readme.ts".
    expect(readme).toBe(await withCommands(readme));
  });

  it('documents every exit code', async () => {
    const readme = await readFile(README, 'utf8');
    const rows = [...readme.matchAll(/^\| (\d+) +\|/gm)].map((m) => Number(m[1]));
    expect(rows.sort((a, b) => a - b)).toEqual(Object.values(ExitCode).sort((a, b) => a - b));
  });
});
