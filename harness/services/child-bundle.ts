/**
 * A TypeScript entry point bundled into one ES module for the child processes the harness starts
 * again and again (the crash scenarios' servers: harness/services/crashable.ts). A child started
 * with `node --import tsx` pays tsx's resolve and load hooks on every module, the libraries' too:
 * about 1.7 s of CPU per start here, against 0.9 s for the same code bundled and run by plain
 * Node, and a crash scenario starts its server a dozen times per run.
 *
 * The bundle holds our TypeScript; packages stay imports, resolved from node_modules, which is why
 * the file lives under `node_modules/.cache` of this repository. Each source file keeps its own
 * `import.meta.url` (paths to fixtures and the repository root are computed from it). Packs that
 * the code imports by path at run time (harness/packs/discover.ts) are still TypeScript: the bundle
 * marks itself, and discover registers tsx before its first such import.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT } from '../chain/paths.ts';

/** Set (to true) on globalThis by a bundle's first line. */
const BUNDLED_MARK = '__amhBundledChild';

const DIR = path.join(REPO_ROOT, 'node_modules', '.cache', 'amh-child-bundles');
/** Bundles of processes that did not get to remove theirs (killed) are swept after a day. */
const STALE_MS = 24 * 3600_000;

const built = new Map<string, Promise<string>>();

function sweep(): void {
  for (const name of readdirSync(DIR)) {
    const file = path.join(DIR, name);
    try {
      if (Date.now() - statSync(file).mtimeMs > STALE_MS) rmSync(file, { force: true });
    } catch {
      // another process swept it first
    }
  }
}

/**
 * The bundle of `script` (built once per process, removed when it exits). Rejects when esbuild
 * cannot build it; the caller then runs the script from source.
 */
export function childBundle(script: string): Promise<string> {
  let p = built.get(script);
  if (!p) {
    p = (async () => {
      const { build } = await import('esbuild');
      mkdirSync(DIR, { recursive: true });
      sweep();
      const tag = createHash('sha256').update(script).digest('hex').slice(0, 12);
      const outfile = path.join(DIR, `${process.pid}-${path.basename(script, '.ts')}-${tag}.mjs`);
      await build({
        entryPoints: [script],
        outfile,
        bundle: true,
        platform: 'node',
        format: 'esm',
        target: 'node22',
        packages: 'external',
        logLevel: 'silent',
        banner: { js: `globalThis.${BUNDLED_MARK} = true;` },
        plugins: [
          {
            name: 'own-import-meta-url',
            setup(b) {
              b.onLoad({ filter: /\.ts$/ }, async (args) => ({
                contents: (await readFile(args.path, 'utf8')).replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href)),
                loader: 'ts',
              }));
            },
          },
        ],
      });
      process.once('exit', () => rmSync(outfile, { force: true }));
      return outfile;
    })();
    built.set(script, p);
  }
  return p;
}

/** Whether this process runs from such a bundle. */
export function inChildBundle(): boolean {
  return (globalThis as Record<string, unknown>)[BUNDLED_MARK] === true;
}
