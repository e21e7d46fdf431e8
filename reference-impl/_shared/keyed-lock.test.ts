import assert from 'node:assert/strict';
import { test } from 'vitest';
import { KeyedLock } from './keyed-lock.ts';

/** A promise the test settles by hand (no timers: the order is the test's, not the clock's). */
function gate() {
  let open!: () => void;
  const p = new Promise<void>((r) => {
    open = r;
  });
  return { p, open };
}
const flush = () => new Promise((r) => setImmediate(r));

test('operations on one key run one at a time in call order, even after a failure; other keys run alongside', async () => {
  const lock = new KeyedLock();
  const log: string[] = [];
  const gates = { a1: gate(), a2: gate(), b1: gate() };
  const op = (key: string, name: keyof typeof gates, fail = false) =>
    lock.run(key, async () => {
      log.push(`${name} start`);
      await gates[name].p;
      log.push(`${name} end`);
      if (fail) throw new Error(name);
      return name;
    });
  const all = Promise.allSettled([op('a', 'a1', true), op('a', 'a2'), op('b', 'b1')]);
  await flush();
  assert.deepEqual(log, ['a1 start', 'b1 start']);
  gates.a2.open();
  await flush();
  assert.deepEqual(log, ['a1 start', 'b1 start'], 'a2 waits for a1');
  gates.a1.open();
  await flush();
  assert.deepEqual(log, ['a1 start', 'b1 start', 'a1 end', 'a2 start', 'a2 end']);
  gates.b1.open();
  const results = await all;
  assert.deepEqual(
    results.map((r) => r.status),
    ['rejected', 'fulfilled', 'fulfilled'],
  );
  await flush();
  assert.equal(lock.size, 0);
});

test('idle() waits for everything queued so far', async () => {
  const lock = new KeyedLock();
  const g = gate();
  let done = 0;
  for (let i = 0; i < 3; i++)
    void lock.run(`k${i % 2}`, async () => {
      await g.p;
      done++;
    });
  const idle = lock.idle().then(() => done);
  g.open();
  assert.equal(await idle, 3);
});
