/** `amh bundle REPORT --key KEYFILE [--target FILE] -o bundle.json`: a signed verdict bundle. */
import { readFile, writeFile } from 'node:fs/promises';
import { bundlePayload, BundleError, loadSigningKey, signBundle } from '../../report/bundle.ts';
import { readReport } from '../../report/write.ts';
import { UsageError, guard, parse } from './_shared.ts';

export const summary = 'sign a verdict bundle: report + redacted target file + seed, hashed and signed (Ed25519)';

export const help = `Usage: amh bundle REPORT --key KEYFILE [--target FILE] [-o bundle.json]

Packs REPORT (a report.json or its directory) with what is needed to check and re-run it: the
target file with its secrets redacted (private keys, API keys, secrets, passwords, mnemonics,
authorization and cookie headers, user:password in URLs), the harness version, seed, runs, the
selected protocols and --grep, and the profile and spec revision (null: not recorded yet). The
payload is hashed (SHA-256 of its RFC 8785 canonical JSON) and the hash signed with the Ed25519 key
in KEYFILE (amh keygen; hex or PKCS#8 PEM). Credential headers in the report's HTTP evidence are
redacted too.

A third party checks it with amh verify BUNDLE [--public-key HEX], re-runs it with amh replay
BUNDLE [--target FILE], and draws a badge with amh badge BUNDLE -o badge.svg.

Options:
  --key KEYFILE    Ed25519 private key (required)
  --target FILE    the target file of a certify report (default: the path the report records)
  -o, --out FILE   write the bundle to FILE (default: standard output)
  -h, --help       this help

Exit code: 0 written · 2 unreadable report, target or key.
`;

export async function run(argv: string[]): Promise<number> {
  return guard(async () => {
    const { values, positionals } = parse(argv, { key: { type: 'string' }, target: { type: 'string' }, out: { type: 'string', short: 'o' }, help: { type: 'boolean', short: 'h' } }, true);
    if (values.help) {
      process.stdout.write(help);
      return 0;
    }
    if (positionals.length !== 1) throw new UsageError('bundle needs exactly one REPORT (see amh bundle --help)');
    if (!values.key) throw new UsageError('bundle needs --key KEYFILE (create one with amh keygen -o FILE)');
    const report = await readReport(positionals[0]!);
    const key = await loadSigningKey(values.key);
    let target: { file: string; json: unknown } | undefined;
    const tf = values.target ?? (report.target.kind === 'file' ? report.target.source : undefined);
    if (tf) {
      let text: string;
      try {
        text = await readFile(tf, 'utf8');
      } catch (e) {
        throw new BundleError(
          `cannot read target file ${tf}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}${values.target ? '' : ' (the path the report records; give it with --target FILE)'}`,
        );
      }
      try {
        target = { file: tf, json: JSON.parse(text) };
      } catch (e) {
        throw new BundleError(`target file ${tf} is not JSON: ${(e as Error).message}`);
      }
    }
    const bundle = signBundle(bundlePayload(report, target), key);
    const text = `${JSON.stringify(bundle, null, 2)}\n`;
    if (values.out) {
      await writeFile(values.out, text);
      const red = bundle.payload.target.kind === 'file' ? bundle.payload.target.redactions.length : 0;
      process.stderr.write(
        `wrote ${values.out}: exit ${report.exitCode}, sha-256 ${bundle.hash.value}, signer ${bundle.signature.publicKey}${red ? `, ${red} secret${red === 1 ? '' : 's'} redacted` : ''}\n`,
      );
    } else process.stdout.write(text);
    return 0;
  });
}
