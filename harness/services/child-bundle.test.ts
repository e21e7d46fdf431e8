/** The bundles of crashed-and-restarted children: built once per thread, removed by the thread that built them. */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { threadId } from 'node:worker_threads';
import { test } from 'vitest';
import { childBundle, removeChildBundles } from './child-bundle.ts';

const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'testdata', 'flaky-server.ts');

test('a bundle is built once per thread, named by pid and thread id, and removeChildBundles deletes it (a worker thread calls it when it stops)', async () => {
  const file = await childBundle(SCRIPT);
  assert.equal(await childBundle(SCRIPT), file, 'built once');
  assert.ok(path.basename(file).startsWith(`${process.pid}-${threadId}-flaky-server-`), path.basename(file));
  assert.ok(existsSync(file));
  removeChildBundles();
  assert.ok(!existsSync(file), 'removed');
  const again = await childBundle(SCRIPT);
  assert.ok(existsSync(again), 'built again after a removal');
  removeChildBundles();
});
