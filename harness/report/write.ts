/**
 * Writes the four report files into a directory: report.json, junit.xml, index.html, summary.md.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { renderHtml } from './html.ts';
import { renderJunit } from './junit.ts';
import { renderMarkdown } from './markdown.ts';
import type { Report } from './types.ts';

export const REPORT_FILES = ['report.json', 'junit.xml', 'index.html', 'summary.md'] as const;

/** Render and write every report file; returns their paths. */
export async function writeReports(report: Report, outDir: string, only?: { json?: boolean; junit?: boolean; html?: boolean; markdown?: boolean }): Promise<string[]> {
  await mkdir(outDir, { recursive: true });
  const all = !only;
  const files: [string, string][] = [];
  if (all || only.json) files.push(['report.json', `${JSON.stringify(report, null, 2)}\n`]);
  if (all || only.junit) files.push(['junit.xml', renderJunit(report)]);
  if (all || only.html) files.push(['index.html', renderHtml(report)]);
  if (all || only.markdown) files.push(['summary.md', renderMarkdown(report)]);
  const written: string[] = [];
  for (const [name, text] of files) {
    const p = path.join(outDir, name);
    await writeFile(p, text);
    written.push(p);
  }
  return written;
}

/** Read a report.json (throws a readable error when it is not one). */
export async function readReport(file: string): Promise<Report> {
  let data: unknown;
  try {
    data = JSON.parse(await readFile(file, 'utf8'));
  } catch (e) {
    throw new Error(`cannot read report ${file}: ${(e as Error).message}`);
  }
  const r = data as Partial<Report>;
  if (!r || typeof r !== 'object' || typeof r.schemaVersion !== 'string' || !Array.isArray(r.protocols)) throw new Error(`${file} is not an agentmarket-harness report.json`);
  if (!r.schemaVersion.startsWith('1.')) throw new Error(`${file} has report schemaVersion ${r.schemaVersion}; this harness reads 1.x`);
  return r as Report;
}
