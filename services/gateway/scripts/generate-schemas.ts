import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateOpenApi } from '../src/index.ts';

// Run by `npm run schemas`; a test fails when the committed file differs from this output.
const target = join(import.meta.dirname, '..', '..', '..', 'schemas', 'openapi.json');
writeFileSync(target, generateOpenApi());
process.stdout.write(`wrote ${target}\n`);
