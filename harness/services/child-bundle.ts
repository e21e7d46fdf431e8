/**
 * A TypeScript entry point bundled into one ES module for the child processes the harness starts
 * again and again (the crash scenarios' servers: harness/services/crashable.ts). A child started
 * with `node --import tsx` pays tsx's resolve and load hooks on every module, the libraries' too:
 * about 1.7 s of CPU per start here, against 0.9 s for the same code bundled and run by plain
 * Node, and a crash scenario starts its server a dozen times per run.
 *
 * The bundle holds our TypeScript and the packages it imports (0.43 s to a listening Agentripe
 * server, against 0.70 s with the packages left as imports that Node resolves and loads file by
 * file). It lives under `node_modules/.cache` of this repository, so what is still imported at run
 * time (Node's CommonJS `require` of a bundled CommonJS package, a package's dynamic import)
 * resolves from node_modules. Each source file keeps its own `import.meta.url` (paths to fixtures,
 * the repository root and package files are computed from it). Packs that the code imports by path
 * at run time (harness/packs/discover.ts) are still TypeScript: the bundle marks itself, and
 * discover registers tsx before its first such import.
 */
import { threadId } from 'node:worker_threads';
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
/** Bundle files this thread wrote. */
const files = new Set<string>();

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
      // The thread id too: the worker threads of one `amh run` share a pid, and each removes its own file when it ends.
      const outfile = path.join(DIR, `${process.pid}-${threadId}-${path.basename(script, '.ts')}-${tag}.mjs`);
      await build({
        entryPoints: [script],
        outfile,
        bundle: true,
        platform: 'node',
        format: 'esm',
        target: 'node22',
        logLevel: 'silent',
        // Loaders and tools that find their own binaries or files next to them stay imports.
        external: ['tsx', 'tsx/*', 'esbuild', '@foundry-rs/*', 'prool', 'prool/*'],
        // Bundled CommonJS packages call `require` (node built-ins, optional peers): an ES module has none.
        banner: { js: `import { createRequire as __amhCreateRequire } from 'node:module'; const require = __amhCreateRequire(import.meta.url); globalThis.${BUNDLED_MARK} = true;` },
        plugins: [
          {
            name: 'own-import-meta-url',
            setup(b) {
              b.onLoad({ filter: /\.(ts|js|mjs)$/ }, async (args) => {
                const text = await readFile(args.path, 'utf8');
                // Other files load as esbuild would load them.
                if (!args.path.endsWith('.ts') && !text.includes('import.meta.url')) return undefined;
                return { contents: text.replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href)), loader: args.path.endsWith('.ts') ? 'ts' : 'js' };
              });
            },
          },
        ],
      });
      if (files.size === 0) process.once('exit', removeChildBundles);
      files.add(outfile);
      return outfile;
    })();
    built.set(script, p);
  }
  return p;
}

/**
 * Removes the bundles this thread built. Runs when the process exits; a worker thread of `amh run`
 * calls it when it stops (a terminated thread runs no 'exit' listener, and its bundles piled up).
 */
export function removeChildBundles(): void {
  for (const f of files) rmSync(f, { force: true });
  files.clear();
  built.clear();
}

/** Whether this process runs from such a bundle. */
export function inChildBundle(): boolean {
  return (globalThis as Record<string, unknown>)[BUNDLED_MARK] === true;
}
