/**
 * Writes harness/target/target.schema.json: the core target schema plus every protocol pack's
 * `config` section and endpoint names (run by `npm run gen`; a test keeps the file in sync).
 *
 *   tsx harness/target/export-schema.ts [--check]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadProtocols } from '../packs/discover.ts';
import { targetJsonSchema } from './schema.ts';

export const TARGET_SCHEMA_FILE = fileURLToPath(new URL('./target.schema.json', import.meta.url));

/** The file's text as it should be now. */
export async function targetSchemaText(): Promise<string> {
  return `${JSON.stringify(targetJsonSchema(await loadProtocols()), null, 2)}\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const text = await targetSchemaText();
  if (process.argv.includes('--check')) {
    const same = readFileSync(TARGET_SCHEMA_FILE, 'utf8') === text;
    process.stdout.write(same ? 'target.schema.json is up to date\n' : 'target.schema.json is OUT OF DATE: run npm run gen\n');
    process.exitCode = same ? 0 : 1;
  } else {
    writeFileSync(TARGET_SCHEMA_FILE, text);
    process.stdout.write(`wrote ${TARGET_SCHEMA_FILE}\n`);
  }
}
