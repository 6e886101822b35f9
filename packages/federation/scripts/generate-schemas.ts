// Writes schemas/federation.schema.json from the zod schema. Run: npx tsx packages/federation/scripts/generate-schemas.ts
import { writeFileSync } from 'node:fs';
import { generateFederationJsonSchema } from '../src/json-schema.ts';

const target = new URL('../../../schemas/federation.schema.json', import.meta.url);
writeFileSync(target, generateFederationJsonSchema());
process.stderr.write(`wrote ${target.pathname}\n`);
