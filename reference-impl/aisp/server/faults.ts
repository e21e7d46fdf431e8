/**
 * The AISP reference servers' test-only faults: each breaks one rule so a test can show the
 * scenarios notice it (kills.ts, `serve.ts --fault NAME`). Backend faults first, then the inference
 * server's. Never set outside tests.
 */
import { defineFaults, type FaultsOf } from '../../_shared/faults.ts';

export const AISP_FAULTS = defineFaults({
  keyToAnySigner: 'POST /api/key/:rentalId releases the key to any valid signer, not only the funder',
  storeKeyAnySigner: "POST /api/keys lets any signer store (replace) a listing's key",
  noSignatureWindow: 'signed timestamps are accepted however old or far in the future',
  acceptReplay: 'a signature that was already used is accepted again',
  shortReplayMemory: 'used signatures are forgotten after 60 s, so one still inside its window can be replayed',
  keyAfterExpiry: "a rental's key is still released after its expiresAt",
  keyAfterEnd: 'a settled or revoked rental still gets its key',
  rentalIdUnchecked: 'POST /api/key/:rentalId does not check that the id is a decimal integer (a malformed one ends in a 500)',
  keepRevertedRentals: 'a revert rolls the events back but keeps the rentals it removed (a reverted Funded still counts)',
  ignoreReorgs: 'the indexer never checks that the blocks it synced are still on chain (a reorg at the same height goes unnoticed)',
  ignoreConfirmations: "a rental's key is released as soon as its Funded event is seen, whatever `confirmations` says",
  expiresAtOffByOneDay: 'expiresAt in the key answer is one day later than the rental ends on chain',
  keyInListing: 'listing views carry the stored API key',
  listingIgnoresFunded: 'listing views do not follow Funded (diemRented stays where the listing started)',
  acceptAdminKey: 'POST /api/keys stores keys the inference server says are ADMIN keys (or does not accept)',
  balanceCached: 'POST /api/balance keeps answering the first balance it saw for a key',
  balanceDropsExpiry: 'POST /api/balance answers keyExpiration null even when the key expires',
  keySecretPerStart: 'the key secret is a fresh random one at each start (keys stored before a restart no longer decrypt), as for an in-memory database',
  replayMemoryInMemory: 'used signatures are remembered in memory only (a restart forgets them)',
  noCatchUpOnStart: 'on start the indexer resumes from the chain head, not from its stored cursor (events mined while it was down are never read)',
  requestsAcceptAnything: 'POST /api/requests answers 201 to malformed requests',
  bodyJsonParse: 'the backend reads request bodies with a bare JSON.parse (a body that is not JSON ends in a 500)',
  storeKeyBeforeAuth: "POST /api/keys writes the key before checking the signature (a refused store still replaces the listing's key)",
  usedSignatureRace:
    'a signature is checked for earlier use right after it verifies but recorded as used only later, by a plain INSERT: two deliveries of one signed request at once both pass the check, and the second ends in a 500',
  inferenceNondeterministic: 'the inference server answers the same request with different text',
  modelsNotAList: "GET /models answers object 'models' instead of OpenAI's 'list'",
  noSpendLimit: 'the inference server ignores per-key DIEM consumption limits',
  noEpochReset: 'consumption never resets at 00:00 UTC',
  expiredKeysWork: 'keys past their expiresAt still authenticate',
  revokedKeysWork: 'deleted keys still authenticate',
  inferenceKeysAreAdmin: 'INFERENCE keys may call the admin routes',
  adminKeyListedWhole: "GET /api_keys lists the account's ADMIN key with all but its first 6 characters, not its last 6",
  noAccountDebit: "inference debits the key's limit but not the account's DIEM",
  debitAfterCompletion:
    "inference checks the key's limit before generating and debits after it (a pause stands for the generation): calls that arrive together all pass the check and the key spends past its limit",
});

/** The faults switched on (all off by default). */
export type AispFaults = FaultsOf<typeof AISP_FAULTS>;
