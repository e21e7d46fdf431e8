/** profiles/compat.json is profile.json with every compat switch on, nothing else changed. */
import assert from 'node:assert/strict';
import { test } from 'vitest';
import data from './profile.json' with { type: 'json' };
import compat from './profiles/compat.json' with { type: 'json' };
import { COMPAT_SWITCHES } from './profile.ts';

test('compat.json = profile.json with every switch on', () => {
  const strip = (j: Record<string, unknown>) => ({ ...j, $comment: undefined, compat: undefined });
  assert.deepEqual(strip(compat), strip(data));
  assert.deepEqual(Object.keys(data.compat).sort(), [...COMPAT_SWITCHES].sort());
  assert.ok(Object.values(data.compat).every((v) => v === false));
  assert.ok(Object.values(compat.compat).every((v) => v === true));
});
