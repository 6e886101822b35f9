// Writes schemas/hub-config.schema.json from the zod schema. Run: npx tsx services/hub/scripts/generate-schemas.ts
import { writeFileSync } from 'node:fs';
import { generateHubConfigJsonSchema } from '../src/hub-config.ts';

const target = new URL('../../../schemas/hub-config.schema.json', import.meta.url);
writeFileSync(target, generateHubConfigJsonSchema());
process.stderr.write(`wrote ${target.pathname}\n`);
