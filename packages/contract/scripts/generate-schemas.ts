import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateReportJsonSchema } from '../src/index.ts';

// Run by `npm run schemas`; a test fails when the committed file differs from this output.
const target = join(import.meta.dirname, '..', '..', '..', 'schemas', 'report.schema.json');
writeFileSync(target, generateReportJsonSchema());
process.stdout.write(`wrote ${target}\n`);
