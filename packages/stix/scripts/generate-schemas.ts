import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateStixExtensionJsonSchema } from '../src/index.ts';

// Run by `npm run schemas`; a test fails when the committed file differs from this output.
const target = join(
  import.meta.dirname,
  '..',
  '..',
  '..',
  'schemas',
  'stix-extension-mosaic.schema.json',
);
writeFileSync(target, generateStixExtensionJsonSchema());
process.stdout.write(`wrote ${target}\n`);
