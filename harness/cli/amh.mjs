#!/usr/bin/env node
// Launcher for the `amh` CLI: registers tsx so the TypeScript sources run without a build step.
// The harness needs Node >= 22 (node:sqlite, Promise.withResolvers). npm scripts already put the
// project's Node (the `node` devDependency, Node 24 LTS) first on PATH; when started by a system Node
// older than 22 directly, re-run this file under the project's Node instead of failing obscurely.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const major = Number(process.versions.node.split('.')[0]);
if (major < 22) {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const projectNode = path.join(here, '..', '..', 'node_modules', 'node', 'bin', 'node');
  if (!existsSync(projectNode)) {
    process.stderr.write(`amh: Node >= 22 is required (this is ${process.version}); run 'npm install' first, or use 'npm run amh -- ...'.\n`);
    process.exit(2);
  }
  const { mirrorChild } = await import('./mirror-child.mjs');
  mirrorChild(spawn(projectNode, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' }));
} else {
  const { runTypeScript } = await import('./run-typescript.mjs');
  await runTypeScript(new URL('./main.ts', import.meta.url).href);
}
