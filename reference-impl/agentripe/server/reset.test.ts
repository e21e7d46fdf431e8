/**
 * `server.reset()`: with the chain taken back to where it was at start (what `amh run` does between
 * scenarios), the server forgets its tasks and API keys at once, and works on as if just started,
 * also for agent ids the chain hands out again.
 */
import { test } from 'vitest';
import assert from 'node:assert/strict';
import { revert, snapshot } from '../../../harness/chain/index.ts';
import { AgentripeDb } from './db.ts';
import { startLab } from './testkit.ts';

test('after the chain went back and the server reset, earlier tasks are unknown and the same agent id can be bought from again', async () => {
  const lab = await startLab();
  try {
    const pristine = await snapshot(lab.chain.rpcUrl);
    const agentId = await lab.registerAgent('vendor1');
    const first = await lab.buyer().buy(agentId, 'translate', { task_detail: 'before the reset' });
    assert.equal(first.status, 200);
    const url = `${lab.stack.server.url}/tasks/${first.taskId}`;
    assert.equal((await fetch(url)).status, 200);
    // An API key of the agent (written as the key registration route does), anchored like the task.
    const keys = new AgentripeDb(lab.stack.dbPath);
    try {
      const anchor = keys.liveAnchors()[0]!;
      keys.setApiKey(agentId.toString(), 'hash-of-a-key', new Date().toISOString(), anchor);
      assert.equal(keys.agentForKey('hash-of-a-key'), agentId.toString());
    } finally {
      keys.close();
    }

    await revert(lab.chain.rpcUrl, pristine);
    await lab.stack.server.reset();
    // Gone from the DB itself, not only orphaned (which the revert guard would do, a block read per row).
    const db = new AgentripeDb(lab.stack.dbPath);
    try {
      assert.equal(db.allTasks().length, 0);
      assert.equal(db.agentForKey('hash-of-a-key'), undefined);
      assert.deepEqual(db.liveAnchors(), []);
    } finally {
      db.close();
    }
    assert.equal((await fetch(url)).status, 404, 'a task of a payment the chain no longer has is gone');

    // The chain hands out the same agent id again, to another owner; the server serves it as new.
    const again = await lab.registerAgent('vendor2');
    assert.equal(again, agentId);
    const second = await lab.buyer().buy(again, 'translate', { task_detail: 'after the reset' });
    assert.equal(second.status, 200);
    const v = lab.vendor('vendor2', again, { kind: 'honest' });
    assert.equal((await v.start(second.taskId!)).status, 200);
    const c = await v.complete(second.taskId!, 'done');
    assert.equal(c.body.escrowAction, 'released');
    const stats = (await (await fetch(`${lab.stack.server.url}/agents/${again}/stats`)).json()) as { totalTasks: number; completedTasks: number };
    assert.deepEqual([stats.totalTasks, stats.completedTasks], [1, 1]);
  } finally {
    await lab.stop();
  }
});
