// `npm run schemas`: runs every package's scripts/generate-schemas.ts, so each committed JSON
// Schema in schemas/ is regenerated from its zod source (each package's test fails when its
// committed file is stale).
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const generators = ['packages', 'services'].flatMap((group) =>
  readdirSync(join(root, group), { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => join(group, entry.name, 'scripts', 'generate-schemas.ts'))
    .filter((path) => {
      try {
        return readdirSync(join(root, path, '..')).includes('generate-schemas.ts');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
        throw err;
      }
    }),
);
for (const generator of generators)
  execFileSync(process.execPath, ['--import', 'tsx', join(root, generator)], {
    cwd: root,
    stdio: 'inherit',
  });
process.stdout.write(`${generators.length} schema generators run\n`);
