/** Writes harness/target/target.schema.json from the zod schema (run after changing schema.ts). */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { targetJsonSchema } from './schema.ts';

const out = fileURLToPath(new URL('./target.schema.json', import.meta.url));
writeFileSync(out, `${JSON.stringify(targetJsonSchema(), null, 2)}\n`);
process.stdout.write(`wrote ${out}\n`);
