/**
 * The store's remembered task rows (db.ts `taskRows`): after any sequence of the store's writes,
 * `getTask` answers exactly what SQLite holds, as a second connection reads it. The writes are drawn
 * at random over a few task ids: inserts (also over an orphaned copy), field updates (with values a
 * column stores as written, and ones it does not: a number into a TEXT column), re-anchoring,
 * orphaning, deletes, a transaction that rolls back, and a clear.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import fc from 'fast-check';
import { afterAll, test } from 'vitest';
import { AgentripeDb, type TaskRow } from './db.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'agentripe-db-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const IDS = ['0xa1', '0xb2', '0xc3'];
const ANCHORS = [
  { block: 7n, hash: '0x07' },
  { block: 9n, hash: '0x09' },
];

type Op =
  | { kind: 'insert'; id: string; anchor: number }
  | { kind: 'update'; id: string; fields: Partial<TaskRow> }
  | { kind: 'reanchor'; id: string; anchor: number }
  | { kind: 'orphan'; anchor: number }
  | { kind: 'delete'; id: string }
  | { kind: 'rollback'; id: string; fields: Partial<TaskRow> }
  | { kind: 'clear' }
  | { kind: 'read'; id: string };

const id = fc.constantFrom(...IDS);
const anchor = fc.integer({ min: 0, max: ANCHORS.length - 1 });
/** Field values, some of which a column does not store as written (a number into TEXT). */
const fields: fc.Arbitrary<Partial<TaskRow>> = fc.record(
  {
    status: fc.constantFrom('pending', 'processing', 'completed'),
    depositState: fc.constantFrom('unrecorded', 'deposited', 'released'),
    errorMessage: fc.option(fc.string({ maxLength: 5 }), { nil: null }),
    reviewRejectCount: fc.integer({ min: 0, max: 5 }),
    feedbackValue: fc.option(fc.integer({ min: -100, max: 100 }), { nil: null }),
    result: fc.oneof(fc.string({ maxLength: 5 }), fc.integer()) as fc.Arbitrary<string>,
    updatedAt: fc.string({ maxLength: 8 }),
  },
  { requiredKeys: [] },
) as fc.Arbitrary<Partial<TaskRow>>;

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('insert' as const), id, anchor }),
  fc.record({ kind: fc.constant('update' as const), id, fields }),
  fc.record({ kind: fc.constant('reanchor' as const), id, anchor }),
  fc.record({ kind: fc.constant('orphan' as const), anchor }),
  fc.record({ kind: fc.constant('delete' as const), id }),
  fc.record({ kind: fc.constant('rollback' as const), id, fields }),
  fc.record({ kind: fc.constant('clear' as const) }),
  fc.record({ kind: fc.constant('read' as const), id }),
);

function insert(db: AgentripeDb, taskId: string, a: number): void {
  db.insertTask(
    {
      id: taskId,
      agentId: '1',
      productId: 'translate',
      buyerAddress: '0x0000000000000000000000000000000000000001',
      amount: '100000',
      network: 'eip155:84532',
      asset: '0x0000000000000000000000000000000000000002',
      payTo: '0x0000000000000000000000000000000000000003',
      method: 'POST',
      requestPayload: '{}',
      taskDetail: null,
      taskMetadata: null,
      reviewerRequest: null,
      createdAt: '2026-12-04T00:00:00.000Z',
    },
    ANCHORS[a],
  );
}

let runs = 0;
test('getTask answers what SQLite holds after any sequence of writes (a second connection reads it)', () => {
  fc.assert(
    fc.property(fc.array(op, { minLength: 1, maxLength: 40 }), (ops) => {
      const file = path.join(dir, `run-${runs++}.db`);
      const db = new AgentripeDb(file);
      const other = new DatabaseSync(file, { readOnly: true });
      const stored = (taskId: string) => {
        const r = other.prepare('SELECT * FROM tasks WHERE id = ? AND orphaned = 0').get(taskId);
        return r ? camelRow(r as Record<string, unknown>) : undefined;
      };
      try {
        for (const o of ops) {
          try {
            if (o.kind === 'insert') insert(db, o.id, o.anchor);
            else if (o.kind === 'update') db.updateTask(o.id, o.fields);
            else if (o.kind === 'reanchor') db.reanchorTask(o.id, ANCHORS[o.anchor]!);
            else if (o.kind === 'orphan') db.orphanAnchors([ANCHORS[o.anchor]!]);
            else if (o.kind === 'delete') db.deleteTask(o.id);
            else if (o.kind === 'clear') db.clear();
            else if (o.kind === 'rollback')
              db.tx(() => {
                db.updateTask(o.id, o.fields);
                throw new Error('rolled back');
              });
            else db.getTask(o.id);
          } catch (e) {
            // A live duplicate insert and the rollback throw; the store must still answer truly.
            if (!/UNIQUE constraint|rolled back/.test((e as Error).message)) throw e;
          }
          for (const t of IDS) assert.deepEqual(db.getTask(t), stored(t), `task ${t} after ${JSON.stringify(o)}`);
        }
        // What getTask hands out is a copy: changing it changes nothing remembered.
        const live = IDS.find((t) => db.getTask(t));
        if (live) {
          const copy = db.getTask(live)!;
          copy.status = 'failed';
          assert.deepEqual(db.getTask(live), stored(live));
        }
      } finally {
        other.close();
        db.close();
      }
    }),
    { numRuns: 200 },
  );
});

/** A row another connection read, in the store's camelCase shape (its two bookkeeping columns left out). */
function camelRow(r: Record<string, unknown>): TaskRow {
  const out: Record<string, unknown> = {};
  for (const [col, v] of Object.entries(r)) if (col !== 'anchor_hash' && col !== 'orphaned') out[col.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase())] = v ?? null;
  return out as unknown as TaskRow;
}
