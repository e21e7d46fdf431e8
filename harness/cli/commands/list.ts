/** `amh list`: the protocol packs the harness found, what they need from a target, and their docs. */
import { inRevision, type ProtocolModule } from '../../engine/dsl.ts';
import { loadConstants, loadProtocols } from '../../packs/discover.ts';
import { type PackConstants, showValue } from '../../profiles/constants.ts';
import { guard, parse } from './_shared.ts';

export const summary = 'list the protocols (packs) the harness certifies, with their endpoints, capabilities and docs';

export const help = `Usage: amh list [--markdown | --json | --constants]

Lists every protocol pack found under scenarios/<id>/ (and its reference-impl/<id>/ and
contracts/src/<id>/ parts): requirements, scenarios, the target endpoints and capabilities it uses,
and its documentation. --markdown prints the README's protocol table; --json one JSON document.
--constants prints, per pack, the protocol constants a what-if profile (--profile FILE) may set:
type, default, valid range, where each applies and what it means (Markdown). An
implementation-defined constant is checked only when a profile names it, at its default too.
`;

/** A pack's constants as a Markdown table (amh list --constants). */
export function constantsTable(c: PackConstants): string {
  const range = (d: PackConstants['declarations'][string]) =>
    d.type === 'enum' ? (d.values ?? []).join(' \\| ') : d.type === 'boolean' ? 'true, false' : `${showValue(d.min!)}..${showValue(d.max!)}${d.unit ? ` ${d.unit}` : ''}`;
  const rows = Object.entries(c.declarations).map(
    ([name, d]) =>
      `| \`${name}\` | ${d.type} | ${showValue(c.defaults[name as never] as never)} | ${range(d)} | ${d.appliesTo.join(', ')} | ${d.meaning.replace(/\|/g, '\\|')}${d.implementationDefined ? ' (implementation-defined: checked only when a profile names it)' : ''}${d.contract ? ` (contracts: ${d.contract.replace(/\|/g, '\\|')})` : ''} |`,
  );
  const presets = Object.keys(c.presets).length
    ? `\n\nPresets: ${Object.keys(c.presets)
        .map((p) => `\`${p}\``)
        .join(', ')}${c.presetEnv ? ` (select one with ${c.presetEnv}=NAME)` : ''}.`
    : '';
  return [`### \`${c.protocol}\``, '', '| constant | type | default | valid | applies to | meaning |', '|---|---|---|---|---|---|', ...rows].join('\n') + presets;
}

/** The README's protocol table (the README embeds this text; a test keeps it in sync). */
export function protocolTable(protos: readonly ProtocolModule[]): string {
  const rows = protos.map((p) => {
    const docs = [p.docs?.readme ? `[${p.docs.readme.split('#')[0]}](${p.docs.readme})` : undefined, p.docs?.profile ? `profile: [${p.docs.profile}](${p.docs.profile})` : undefined]
      .filter(Boolean)
      .join(', ');
    return `| \`${p.id}\` | ${p.summary ?? p.title} | ${p.requirements.length} | ${docs || '-'} |`;
  });
  return ['| protocol | what | requirements | docs |', '|---|---|---|---|', ...rows].join('\n');
}

function describe(p: ProtocolModule) {
  const levels = (l: string) => p.requirements.filter((r) => r.level === l).length;
  return {
    id: p.id,
    title: p.title,
    requirements: { total: p.requirements.length, must: levels('MUST'), should: levels('SHOULD'), may: levels('MAY') },
    scenarios: p.scenarios.length,
    endpoints: p.endpoints ?? {},
    capabilities: p.capabilities ?? {},
    config: Boolean(p.config),
    fixtures: (p.fixtures ?? []).map((f) => ({ name: f.name, description: f.description })),
    docs: p.docs ?? {},
    revisions: (p.revisions ?? []).map((r) => ({
      ...r,
      requirements: p.requirements.filter((q) => inRevision(q, r.id)).length,
    })),
  };
}

export async function run(argv: string[]): Promise<number> {
  return guard(async () => {
    const { values } = parse(argv, { markdown: { type: 'boolean' }, json: { type: 'boolean' }, constants: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } });
    if (values.help) {
      process.stdout.write(help);
      return 0;
    }
    if (values.constants) {
      process.stdout.write(`${(await loadConstants()).map(constantsTable).join('\n\n')}\n`);
      return 0;
    }
    const protos = await loadProtocols();
    if (values.markdown) {
      process.stdout.write(`${protocolTable(protos)}\n`);
      return 0;
    }
    if (values.json) {
      process.stdout.write(`${JSON.stringify(protos.map(describe))}\n`);
      return 0;
    }
    const lines: string[] = [];
    for (const p of protos) {
      const d = describe(p);
      lines.push(`${p.id}  ${p.title}`);
      lines.push(`  ${d.requirements.total} requirements (${d.requirements.must} MUST, ${d.requirements.should} SHOULD, ${d.requirements.may} MAY), ${d.scenarios} scenarios`);
      for (const [k, v] of Object.entries(d.endpoints)) lines.push(`  endpoint   ${k}: ${typeof v === 'string' ? v : v.description}`);
      for (const [k, v] of Object.entries(d.capabilities)) lines.push(`  capability ${k}: ${v}`);
      for (const f of d.fixtures) lines.push(`  fixture    ${f.name}: ${f.description}`);
      for (const r of d.revisions) lines.push(`  spec       ${r.id}${r.default ? ' (default)' : ''}: ${r.title} — ${r.requirements} requirements; ${r.source}${r.note ? ` (${r.note})` : ''}`);
      if (p.docs?.readme) lines.push(`  docs       ${p.docs.readme}${p.docs.profile ? `, ${p.docs.profile}` : ''}`);
      lines.push('');
    }
    process.stdout.write(lines.join('\n'));
    return 0;
  });
}
