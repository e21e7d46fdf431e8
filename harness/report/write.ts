/**
 * Writes the four report files into a directory: report.json, junit.xml, index.html, summary.md.
 */
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
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

/** A report file that cannot be read or is not a report (the CLI prints it and exits 2). */
export class ReportFileError extends Error {
  override name = 'ReportFileError';
}

/** A report path as given: a report.json, or a directory holding one. */
export async function reportPath(p: string): Promise<string> {
  const st = await stat(p).catch(() => undefined);
  if (!st) throw new ReportFileError(`cannot read report ${p}: no such file or directory`);
  return st.isDirectory() ? path.join(p, 'report.json') : p;
}

/** Check that parsed JSON is a report.json this harness reads. */
export function asReport(data: unknown, file: string): Report {
  const r = data as Partial<Report>;
  if (!r || typeof r !== 'object' || typeof r.schemaVersion !== 'string' || !Array.isArray(r.protocols)) throw new ReportFileError(`${file} is not an agentmarket-harness report.json`);
  if (!r.schemaVersion.startsWith('1.')) throw new ReportFileError(`${file} has report schemaVersion ${r.schemaVersion}; this harness reads 1.x`);
  return r as Report;
}

/** Read a report.json, or the report.json in a directory (throws a readable error when it is not one). */
export async function readReport(file: string): Promise<Report> {
  const p = await reportPath(file);
  let data: unknown;
  try {
    data = JSON.parse(await readFile(p, 'utf8'));
  } catch (e) {
    throw new ReportFileError(`cannot read report ${p}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  return asReport(data, p);
}
