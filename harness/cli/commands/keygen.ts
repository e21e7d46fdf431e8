/** `amh keygen -o FILE`: a new Ed25519 key for signing verdict bundles. */
import { writeFile } from 'node:fs/promises';
import { generateKey } from '../../report/bundle.ts';
import { UsageError, guard, parse } from './_shared.ts';

export const summary = 'create an Ed25519 key for signing verdict bundles (-o FILE)';

export const help = `Usage: amh keygen -o FILE

Writes a new Ed25519 private key to FILE (64 hex characters, file mode 0600; refuses to overwrite)
and prints its public key, which verifiers pin with amh verify --public-key. amh bundle --key also
reads PKCS#8 PEM keys (openssl genpkey -algorithm ed25519). Keep the private key secret (a CI
secret), publish the public key.

Options:
  -o, --out FILE   where to write the private key (required)
  -h, --help       this help
`;

export async function run(argv: string[]): Promise<number> {
  return guard(async () => {
    const { values } = parse(argv, { out: { type: 'string', short: 'o' }, help: { type: 'boolean', short: 'h' } });
    if (values.help) {
      process.stdout.write(help);
      return 0;
    }
    if (!values.out) throw new UsageError('keygen needs -o FILE');
    const k = generateKey();
    try {
      await writeFile(values.out, `${k.privateKey}\n`, { mode: 0o600, flag: 'wx' });
    } catch (e) {
      throw new UsageError(`cannot write ${values.out}: ${(e as NodeJS.ErrnoException).code === 'EEXIST' ? 'the file exists (not overwritten)' : (e as Error).message}`);
    }
    process.stdout.write(`public key: ${k.publicKey}\n`);
    process.stderr.write(`wrote private key to ${values.out}\n`);
    return 0;
  });
}
