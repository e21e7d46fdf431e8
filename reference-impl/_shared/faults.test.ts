import assert from 'node:assert/strict';
import { expectTypeOf, test } from 'vitest';
import { defineFaults, type FaultsOf } from './faults.ts';

const FAULTS = defineFaults({ skipCheck: 'the check is skipped', payTwice: 'every payment is settled twice' });

test('names, descriptions and the flag type come from one definition', () => {
  assert.deepEqual(FAULTS.names, ['skipCheck', 'payTwice']);
  assert.deepEqual(FAULTS.list, [
    { name: 'skipCheck', description: 'the check is skipped' },
    { name: 'payTwice', description: 'every payment is settled twice' },
  ]);
  assert.equal(FAULTS.describe('payTwice'), 'every payment is settled twice');
  expectTypeOf<FaultsOf<typeof FAULTS>>().toEqualTypeOf<{ skipCheck?: boolean; payTwice?: boolean }>();
});

test('--fault values parse to flags; an unknown name is refused with the known ones listed', () => {
  assert.deepEqual(FAULTS.parse(['payTwice']), { payTwice: true });
  assert.deepEqual(FAULTS.parse(undefined), {});
  assert.throws(() => FAULTS.parse(['payTwice', 'payThrice']), /unknown fault 'payThrice' \(known: skipCheck, payTwice\)/);
  assert.throws(() => FAULTS.parse(['toString']), /unknown fault 'toString'/);
  assert.deepEqual(FAULTS.enabled({ payTwice: true, skipCheck: false }), ['payTwice']);
});
