/**
 * A badge (SVG, shields.io style via `badge-maker`) from a verified verdict bundle: which protocols,
 * the verdict and requirement counts, the date; the bundle's hash and signer ride along in the SVG
 * (title and a comment) so a reader can find the bundle to verify. A badge proves nothing by itself.
 */
import { makeBadge } from 'badge-maker';
import type { Bundle } from './bundle.ts';

/** The badge's label, message and colour. */
export function badgeContent(b: Bundle): { label: string; message: string; color: string } {
  const p = b.payload;
  const s = p.report.summary;
  const judged = s.pass + s.fail + s.warn + s.indeterminate + s.error + s.uncovered;
  const date = p.report.startedAt.slice(0, 10);
  const label = `amh ${p.protocols.length <= 3 ? p.protocols.join('+') : `${p.protocols.length} protocols`}`;
  if (p.report.exitCode === 2) return { label, message: `error · ${date}`, color: 'lightgrey' };
  if (p.report.exitCode === 1) return { label, message: `fail ${s.fail + s.indeterminate}/${judged} · ${date}`, color: 'red' };
  const accepted = p.report.baseline?.accepted.length ?? 0;
  if (accepted) return { label, message: `pass (${accepted} accepted) ${s.pass}/${judged} · ${date}`, color: 'yellowgreen' };
  return { label, message: `pass ${s.pass}/${judged}${s.warn ? ` (${s.warn} warn)` : ''} · ${date}`, color: s.warn ? 'green' : 'brightgreen' };
}

/** Render the SVG. */
export function renderBadge(b: Bundle): string {
  const c = badgeContent(b);
  const svg = makeBadge({ label: c.label, message: c.message, color: c.color, style: 'flat' });
  const note = `<!-- agentmarket-harness verdict bundle sha-256 ${b.hash.value}; Ed25519 signer ${b.signature.publicKey}; check it with amh verify -->`;
  return svg.replace(/^(<svg[^>]*>)/, `$1${note}`);
}
