/** `amh verify BUNDLE`: check a verdict bundle's hash and signature. */
import { readBundle, verifyBundle } from '../../report/bundle.ts';
import { verdictText } from '../../report/markdown.ts';
import { UsageError, guard, parse } from './_shared.ts';

export const summary = "check a verdict bundle's hash and Ed25519 signature (exit 0 valid, 1 not)";

export const help = `Usage: amh verify BUNDLE [--public-key HEX]

Recomputes the SHA-256 of the bundle's payload (RFC 8785 canonical JSON) and checks it against the
recorded hash, then checks the Ed25519 signature of that hash with the embedded public key. With
--public-key, also requires that the bundle was signed by that key (without it, anyone could have
signed: pin the certifier's published key). Prints the verdict the bundle carries.

Options:
  --public-key HEX   the signer's expected public key (64 hex characters)
  -h, --help         this help

Exit codes: 0 valid · 1 invalid (changed after signing, bad signature, other signer) · 2 unreadable
or not a bundle.
`;

export async function run(argv: string[]): Promise<number> {
  return guard(async () => {
    const { values, positionals } = parse(argv, { 'public-key': { type: 'string' }, help: { type: 'boolean', short: 'h' } }, true);
    if (values.help) {
      process.stdout.write(help);
      return 0;
    }
    if (positionals.length !== 1) throw new UsageError('verify needs exactly one BUNDLE (see amh verify --help)');
    const pk = values['public-key'];
    if (pk !== undefined && !/^(0x)?[0-9a-fA-F]{64}$/.test(pk)) throw new UsageError('--public-key must be 64 hex characters (an Ed25519 public key)');
    const b = await readBundle(positionals[0]!);
    const v = verifyBundle(b, pk);
    const p = b.payload;
    if (!v.ok) {
      process.stdout.write(`INVALID bundle ${positionals[0]}\n${v.problems.map((x) => `  - ${x}`).join('\n')}\n`);
      return 1;
    }
    process.stdout.write(
      `${[
        `VALID bundle ${positionals[0]}: sha-256 ${v.hash}, signed by ${v.publicKey}${pk ? ' (the expected key)' : ' (not pinned: pass --public-key to require a signer)'}`,
        `verdict: ${verdictText(p.report)} (exit ${p.report.exitCode})`,
        `target: ${p.report.target.name} (${p.target.kind === 'file' ? `file ${p.target.file}, ${p.target.redactions.length} secrets redacted` : 'reference implementation'}) · protocols ${p.protocols.join(', ')} · seed ${p.seed} · --runs ${p.runs}${p.grep ? ` · --grep ${p.grep}` : ''} · harness ${p.harness.version} · run ${p.report.startedAt}`,
        `re-run it: amh replay ${positionals[0]}${p.target.kind === 'file' ? ' --target FILE' : ''}`,
      ].join('\n')}\n`,
    );
    return 0;
  });
}
