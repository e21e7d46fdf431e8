/**
 * index.html: one self-contained page (inline CSS and JS, no external assets). Rendered on the
 * server side so it reads without JavaScript; a small inline script adds filters by status,
 * protocol and text. Sections: verdict banner, verdict matrix (protocol × requirement),
 * per-requirement details (quoted rule, source, counterexample, replay command, evidence),
 * scenarios table.
 */
import type { Evidence } from '../engine/evidence.ts';
import { nodeRepairsText, verdictText, runsText } from './markdown.ts';
import type { ProtocolReport, Report, RequirementReport, RequirementStatus } from './types.ts';
import { profileConstantsText } from './profile-text.ts';

/** HTML-escape text. */
export function esc(s: unknown): string {
  return String(s ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

const STATUSES: RequirementStatus[] = ['pass', 'fail', 'warn', 'not-applicable', 'error', 'indeterminate', 'uncovered'];
const anchor = (id: string) => `req-${id.replace(/[^A-Za-z0-9-]/g, '_')}`;
const badge = (s: string) => `<span class="badge s-${esc(s)}">${esc(s)}</span>`;

function delta(before: string | undefined, after: string | undefined): string {
  if (before === undefined || after === undefined) return '';
  const d = BigInt(after) - BigInt(before);
  return d === 0n ? '0' : d > 0n ? `+${d}` : String(d);
}

function renderEvidence(e: Evidence): string {
  switch (e.kind) {
    case 'note':
      return `<li class="ev note">${esc(e.message)}</li>`;
    case 'check':
      return `<li class="ev check ${e.ok ? 'ok' : 'bad'}">${e.ok ? '✔' : '✘'} <code>${esc(e.requirement)}</code> ${esc(e.message)}${
        e.expected !== undefined || e.actual !== undefined ? `<div class="ea"><span>expected: <code>${esc(e.expected)}</code></span> <span>actual: <code>${esc(e.actual)}</code></span></div>` : ''
      }</li>`;
    case 'tx':
      return `<li class="ev tx"><span class="tag">tx</span> <b>${esc(e.label)}</b> — <code>${esc(e.function)}</code> on ${esc(e.chain)} by <code>${esc(e.from)}</code>: mined (${esc(e.status)}) <code>${esc(e.hash)}</code> (block ${esc(e.blockNumber)})
        <details><summary>args and ${e.events.length} event(s)</summary><pre>${esc(JSON.stringify(e.args, null, 1))}</pre>${e.events
          .map((x) => `<div><code>${esc(x.name)}</code> @ <code>${esc(x.address)}</code><pre>${esc(JSON.stringify(x.args, null, 1))}</pre></div>`)
          .join('')}</details></li>`;
    case 'refused':
      return `<li class="ev refused"><span class="tag">refused</span> <b>${esc(e.label)}</b> — <code>${esc(e.function)}</code> on ${esc(e.chain)} by <code>${esc(e.from)}</code> refused: <code>${esc(e.reason)}</code>
        <details><summary>args</summary><pre>${esc(JSON.stringify(e.args, null, 1))}</pre></details></li>`;
    case 'balances': {
      const keys = [...new Set([...Object.keys(e.before), ...Object.keys(e.after)])];
      return `<li class="ev balances"><span class="tag">balances</span> <b>${esc(e.label)}</b> (token <code>${esc(e.token)}</code> on ${esc(e.chain)})<table class="bal"><tr><th>account</th><th>before</th><th>after</th><th>Δ</th></tr>${keys
        .map((k) => `<tr><td>${esc(k)}</td><td>${esc(e.before[k])}</td><td>${esc(e.after[k])}</td><td>${esc(delta(e.before[k], e.after[k]))}</td></tr>`)
        .join('')}</table></li>`;
    }
    case 'http':
      return `<li class="ev http"><span class="tag">http</span> <b>${esc(e.method)} ${esc(e.url)}</b> → ${esc(e.status ?? e.error)} (${esc(e.durationMs)} ms)
        <details><summary>exchange</summary><pre>${esc(
          [
            `> ${e.method} ${e.url}`,
            ...Object.entries(e.requestHeaders).map(([k, v]) => `> ${k}: ${v}`),
            e.requestBody ? `>\n${e.requestBody}` : '',
            `< ${e.status ?? e.error}`,
            ...Object.entries(e.responseHeaders).map(([k, v]) => `< ${k}: ${v}`),
            e.responseBody ? `<\n${e.responseBody}` : '',
          ]
            .filter(Boolean)
            .join('\n'),
        )}</pre></details></li>`;
  }
}

function counterexamples(p: ProtocolReport, r: RequirementReport): string {
  return p.scenarios
    .filter((s) => s.requirements.includes(r.id) && s.counterexample && s.status !== 'pass' && (!s.counterexample.requirement || s.counterexample.requirement === r.id))
    .map((s) => {
      const cx = s.counterexample!;
      return `<div class="cx"><h4>Shrunk counterexample — ${esc(s.caseId)} ${badge(s.status)}</h4>
        <pre class="msg">${esc(cx.message)}</pre>
        <ol class="actions">${cx.actions.map((a) => `<li>${esc(a)}</li>`).join('')}</ol>
        <div class="replay">Replay: <code class="cmd">${esc(s.replay)}</code> <button type="button" class="copy" data-copy="${esc(s.replay)}">copy</button></div>
        <details><summary>fast-check value, seed ${esc(cx.seed)}, path ${esc(cx.path)}</summary><pre>${esc(cx.value)}</pre></details></div>`;
    })
    .join('');
}

function requirementDetail(p: ProtocolReport, r: RequirementReport): string {
  const open = r.status === 'fail' || r.status === 'error';
  return `<details class="req" id="${anchor(r.id)}" data-status="${esc(r.status)}" data-protocol="${esc(p.id)}"${open ? ' open' : ''}>
  <summary>${badge(r.status)} <code>${esc(r.id)}</code> <span class="lvl">${esc(r.level)}</span> ${esc(r.title)}</summary>
  <blockquote>${esc(r.text)}</blockquote>
  <p class="src">Source: ${r.source.url ? `<a href="${esc(r.source.url)}">${esc(r.source.document)}</a>` : esc(r.source.document)} — ${esc(r.source.section)}${r.profileAssumption ? ' · <b>profile assumption</b>' : ''}</p>
  ${r.reason ? `<p class="reason">${esc(r.reason)}</p>` : ''}
  <p>Checks: ${r.checks.passed} passed, ${r.checks.failed} failed · scenarios: ${r.scenarios.map((s) => `<code>${esc(s)}</code>`).join(', ') || 'none'}</p>
  ${counterexamples(p, r)}
  ${r.evidence.length ? `<details class="evidence"${open ? ' open' : ''}><summary>Evidence (${r.evidence.length})</summary><ul>${r.evidence.map(renderEvidence).join('')}</ul></details>` : ''}
</details>`;
}

const CSS = `
:root{--pass:#1a7f37;--fail:#cf222e;--warn:#9a6700;--na:#6e7781;--err:#8250df;--ind:#0969da;--unc:#57606a}
*{box-sizing:border-box}body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:0;color:#1f2328;background:#f6f8fa}
header{padding:16px 24px;color:#fff}header.v0{background:var(--pass)}header.v1{background:var(--fail)}header.v2{background:var(--err)}
header h1{margin:0 0 4px;font-size:22px}main{padding:16px 24px}section{background:#fff;border:1px solid #d0d7de;border-radius:6px;padding:12px 16px;margin-bottom:16px}
table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #d8dee4;padding:4px 8px;text-align:left;vertical-align:top}th{background:#f6f8fa}
code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace;background:#eff1f3;padding:0 3px;border-radius:3px}pre{background:#f6f8fa;padding:8px;overflow:auto;font-size:12px;max-height:400px}
.badge{display:inline-block;padding:0 6px;border-radius:10px;color:#fff;font-size:12px;font-weight:600}
.s-pass{background:var(--pass)}.s-fail{background:var(--fail)}.s-warn{background:var(--warn)}.s-not-applicable{background:var(--na)}.s-error{background:var(--err)}.s-indeterminate{background:var(--ind)}.s-uncovered{background:var(--unc)}
.counts span{margin-right:12px}.filters label{margin-right:10px}.filters input[type=search]{padding:3px 6px;width:260px}
details.req{border-top:1px solid #d8dee4;padding:6px 0}details.req>summary{cursor:pointer}blockquote{margin:6px 0;padding:4px 10px;border-left:4px solid #d0d7de;color:#444}
.lvl{font-size:11px;font-weight:700;color:#57606a}.reason{color:#82071e}.cx{border:1px solid #ffcecb;background:#fff8f8;border-radius:6px;padding:8px;margin:8px 0}
.cx h4{margin:0 0 4px}ol.actions li{font-family:ui-monospace,monospace;font-size:12px}.ev{margin:3px 0}.ev.check.ok{color:#1a7f37}.ev.check.bad{color:#cf222e;font-weight:600}
.ea span{margin-right:16px}table.bal{width:auto;margin:4px 0}.hidden{display:none}tr.row{cursor:pointer}tr.row:hover{background:#f3f4f6}
button.copy{font-size:11px}.tag{display:inline-block;font:600 10px ui-monospace,monospace;text-transform:uppercase;background:#eaeef2;border:1px solid #d0d7de;border-radius:3px;padding:0 4px;color:#57606a}`;

const JS = `
(function(){
  var boxes=[].slice.call(document.querySelectorAll('input[name=status]'));
  var proto=document.getElementById('f-protocol'), text=document.getElementById('f-text');
  function apply(){
    var on={};boxes.forEach(function(b){on[b.value]=b.checked});
    var p=proto.value, q=text.value.toLowerCase(), shown=0;
    [].slice.call(document.querySelectorAll('[data-status]')).forEach(function(el){
      var ok=on[el.getAttribute('data-status')]&&(!p||el.getAttribute('data-protocol')===p)&&(!q||el.textContent.toLowerCase().indexOf(q)>=0);
      el.classList.toggle('hidden',!ok); if(ok&&el.classList.contains('row'))shown++;
    });
    document.getElementById('shown').textContent=shown;
  }
  boxes.forEach(function(b){b.addEventListener('change',apply)});proto.addEventListener('change',apply);text.addEventListener('input',apply);
  [].slice.call(document.querySelectorAll('tr.row')).forEach(function(tr){tr.addEventListener('click',function(){
    var d=document.getElementById(tr.getAttribute('data-target')); if(d){d.open=true;d.scrollIntoView({behavior:'smooth'});}
  })});
  [].slice.call(document.querySelectorAll('button.copy')).forEach(function(b){b.addEventListener('click',function(){
    if(navigator.clipboard)navigator.clipboard.writeText(b.getAttribute('data-copy'));b.textContent='copied';
  })});
  apply();
})();`;

/** Render the self-contained HTML report. */
export function renderHtml(r: Report): string {
  const s = r.summary;
  const rows = r.protocols
    .flatMap((p) =>
      p.requirements.map(
        (q) =>
          `<tr class="row" data-status="${esc(q.status)}" data-protocol="${esc(p.id)}" data-target="${anchor(q.id)}"><td>${esc(p.id)}</td><td><code>${esc(q.id)}</code></td><td>${esc(q.level)}</td><td>${badge(q.status)}</td><td>${esc(q.title)}</td><td>${q.checks.passed}/${q.checks.passed + q.checks.failed}</td><td>${esc(q.reason ?? '')}</td></tr>`,
      ),
    )
    .join('\n');
  const scenarioRows = r.protocols
    .flatMap((p) =>
      p.scenarios.map(
        (sc) =>
          `<tr data-status="${esc(sc.status)}" data-protocol="${esc(p.id)}"><td><code>${esc(sc.caseId)}</code></td><td>${esc(sc.kind)}</td><td>${badge(sc.status)}</td><td>${sc.requirements.map((x) => `<code>${esc(x)}</code>`).join(' ')}</td><td>${sc.runs}${sc.runs < sc.runsPlanned && sc.status !== 'not-applicable' ? ` of ${sc.runsPlanned}` : ''}</td><td>${sc.shrinks}</td><td>${sc.seed}</td><td>${sc.durationMs} ms</td><td>${esc(sc.reason ?? '')}</td></tr>`,
      ),
    )
    .join('\n');
  const details = r.protocols
    .map(
      (p) =>
        `<h3>${esc(p.id)} — ${esc(p.title)}</h3>${p.revision ? `<p>Spec revision <b>${esc(p.revision.id)}</b>: ${esc(p.revision.title)} (${esc(p.revision.source)})</p>` : ''}${p.requirements.map((q) => requirementDetail(p, q)).join('\n')}`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Conformance report — ${esc(r.target.name)}</title><style>${CSS}</style></head>
<body>
<header class="v${r.exitCode}"><h1 id="verdict">${esc(verdictText(r))}</h1>
<div>Target <b>${esc(r.target.name)}</b> (${esc(r.target.kind)}${r.target.source ? `: ${esc(r.target.source)}` : ''}) · capabilities: ${esc(r.target.capabilities.join(', ') || 'none')} · seed <b>${r.seed}</b> · ${esc(runsText(r))} · ${(r.durationMs / 1000).toFixed(1)} s · started ${esc(r.startedAt)} · exit code ${r.exitCode} · ${esc(r.harness.name)} ${esc(r.harness.version)}</div>${
    r.profile ? `<div>Profile <b>${esc(r.profile.name)}</b> (<code>${esc(r.profile.hash.slice(0, 12))}</code>): ${esc(profileConstantsText(r.profile, 'every constant at its default'))}</div>` : ''
  }${nodeRepairsText(r) ? `<div>Node: ${esc(nodeRepairsText(r)!)}</div>` : ''}</header>
<main>
<section class="counts"><span>${badge('pass')} ${s.pass}</span><span>${badge('fail')} ${s.fail}</span><span>${badge('warn')} ${s.warn}</span><span>${badge('not-applicable')} ${s.notApplicable}</span><span>${badge('error')} ${s.error}</span><span>${badge('indeterminate')} ${s.indeterminate}</span><span>${badge('uncovered')} ${s.uncovered}</span><span>checks executed: <b>${s.checks}</b></span></section>
${r.errors.length ? `<section><h2>Harness errors</h2><pre>${esc(r.errors.join('\n\n'))}</pre></section>` : ''}
<section><h2>Verdict matrix</h2>
<div class="filters">${STATUSES.map((st) => `<label><input type="checkbox" name="status" value="${st}" checked> ${st}</label>`).join('')}
<label>protocol <select id="f-protocol"><option value="">all</option>${r.protocols.map((p) => `<option value="${esc(p.id)}">${esc(p.id)}</option>`).join('')}</select></label>
<input type="search" id="f-text" placeholder="filter text (id, title, reason)"> showing <span id="shown"></span></div>
<table id="verdicts"><thead><tr><th>protocol</th><th>requirement</th><th>level</th><th>status</th><th>title</th><th>checks</th><th>note</th></tr></thead><tbody>
${rows}
</tbody></table></section>
<section><h2>Requirements</h2>${details}</section>
<section><h2>Scenarios</h2><table id="scenarios"><thead><tr><th>case</th><th>kind</th><th>status</th><th>requirements</th><th>runs</th><th>shrinks</th><th>seed</th><th>time</th><th>note</th></tr></thead><tbody>
${scenarioRows}
</tbody></table></section>
</main><script>${JS}</script></body></html>
`;
}
