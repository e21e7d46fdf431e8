/**
 * The backend survives what a real deployment meets: a restart (the cursor, the events and the
 * encrypted keys are in SQLite; events mined while it was down are picked up), a revert of an
 * unconfirmed Funded (confirmations 2: the key is refused, then the rental id goes to whoever funds it
 * next), and keys are never readable at rest nor in a log line.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, test } from 'vitest';
import { privateKeyToAccount } from 'viem/accounts';
import { roleAccount, rpcCall, startChain, type RunningChain } from '../../../harness/chain/index.ts';
import { DIEM } from '../protocol/profile.ts';
import { keyAnswer } from '../protocol/wire.ts';
import { startLab } from './testkit.ts';
import path from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';

let chain: RunningChain;
beforeAll(async () => {
  chain = await startChain({ profile: 'base' });
});
afterAll(async () => {
  await chain?.stop();
});

const terms = { pricePerDay: 10_000n, termDays: 5n, diemMin: DIEM, diemMax: 10n * DIEM };
const signer = (role: string) => privateKeyToAccount(roleAccount(role).privateKey);

test('restart: keys, rentals and the cursor survive; a Funded mined while the backend was down is picked up', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'aisp-restart-'));
  const logs: string[] = [];
  const lab = await startLab({ chain, dir, log: (m) => logs.push(m) });
  try {
    const { listingId, key } = await lab.provider().createListing(terms);
    const first = await lab.renter('buyer1').rent(listingId, 2n, DIEM);
    await lab.stack.backend.stop();
    // While the backend is down: another rental is funded.
    const m = lab.market('buyer2');
    await m.approve(10n ** 12n);
    const second = await m.fund(listingId, 1n, 2n * DIEM);
    await lab.stack.restartBackend();
    const b = lab.backend;
    const again = await b.getKey(first.rentalId, await b.signGetKey(signer('buyer1'), first.rentalId));
    assert.equal(again.status, 200, `the key decrypts after a restart: ${again.text}`);
    assert.equal(keyAnswer.parse(again.body).apiKey, key.apiKey);
    const theirs = await b.getKey(second.rentalId, await b.signGetKey(signer('buyer2'), second.rentalId));
    assert.equal(theirs.status, 200, 'a rental funded while the backend was down is served after the restart');
    const view = await b.listing(listingId);
    assert.equal((view.body as { listing: { diemRented: string } }).listing.diemRented, String(3n * DIEM));
    // At rest: the SQLite files never hold the key in clear, and no log line carries it.
    for (const f of readdirSync(dir)) assert.ok(!readFileSync(path.join(dir, f)).includes(key.apiKey), `${f} holds the key in clear`);
    assert.ok(logs.length > 0 && logs.every((l) => !l.includes(key.apiKey)), 'no log line carries a key');
  } finally {
    await lab.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a revert of an unconfirmed Funded (confirmations 2): refused before, the id goes to the next funder after', { timeout: 60_000 }, async () => {
  const lab = await startLab({ chain, backend: { confirmations: 2, pollIntervalMs: 0 } });
  try {
    const { listingId, key } = await lab.provider().createListing(terms);
    const snap = await rpcCall(chain.rpcUrl, 'evm_snapshot', []);
    const a = lab.market('buyer1');
    await a.approve(10n ** 12n);
    const fa = await a.fund(listingId, 1n, DIEM);
    const b = lab.backend;
    const early = await b.getKey(fa.rentalId, await b.signGetKey(signer('buyer1'), fa.rentalId));
    assert.equal(early.status, 409, `unconfirmed: ${early.text}`);
    await rpcCall(chain.rpcUrl, 'evm_revert', [snap]);
    await lab.mine(4);
    const gone = await b.getKey(fa.rentalId, await b.signGetKey(signer('buyer1'), fa.rentalId));
    assert.equal(gone.status, 404, `the reverted rental is gone: ${gone.text}`);
    const m = lab.market('buyer2');
    await m.approve(10n ** 12n);
    const fb = await m.fund(listingId, 1n, DIEM);
    assert.equal(fb.rentalId, fa.rentalId, 'the same id, funded by someone else');
    await lab.mine(1);
    const theirs = await b.getKey(fb.rentalId, await b.signGetKey(signer('buyer2'), fb.rentalId));
    assert.equal(theirs.status, 200);
    assert.equal(keyAnswer.parse(theirs.body).apiKey, key.apiKey);
    const stale = await b.getKey(fa.rentalId, await b.signGetKey(signer('buyer1'), fa.rentalId));
    assert.equal(stale.status, 403, 'the former funder is refused');
  } finally {
    await lab.stop();
  }
});

test('a listing id a revert gave to someone else does not serve the old key', { timeout: 60_000 }, async () => {
  const lab = await startLab({ chain, backend: { pollIntervalMs: 0 } });
  try {
    const snap = await rpcCall(chain.rpcUrl, 'evm_snapshot', []);
    const { listingId } = await lab.provider().createListing(terms);
    await rpcCall(chain.rpcUrl, 'evm_revert', [snap]);
    // vendor1 lists at the same id; nobody stored a key for this listing.
    const again = await lab.market('vendor1').list(terms.pricePerDay, terms.termDays, terms.diemMin, terms.diemMax);
    assert.equal(again.listingId, listingId);
    const view = (await lab.backend.listing(listingId)).body as { listing: { hasKey: boolean; provider: string } };
    assert.equal(view.listing.hasKey, false, "the reverted listing's key is not served for vendor1's listing");
    assert.equal(view.listing.provider.toLowerCase(), roleAccount('vendor1').address.toLowerCase());
  } finally {
    await lab.stop();
  }
});
