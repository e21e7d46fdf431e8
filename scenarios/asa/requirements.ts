/**
 * Requirement catalog for `asa` (seed 003: NIP-A5, PR #2273; the spec notes specs/nostr-l402.md:
 * NIP-01/09/17/40/42/44/59, L402, BOLT11). Where the PR is silent the rule comes from
 * scenarios/asa/profile.md and is flagged `profileAssumption: true`.
 */
import { defineCatalog, type Requirement } from '../../harness/engine/catalog.ts';

const PR = { document: 'Seed 003 NIP-A5 Agent Service Agreements (PR #2273, A5.md at d78fb054)', url: 'https://github.com/nostr-protocol/nips/pull/2273' };
const NIP01 = { document: 'NIP-01 (spec notes §2)' };
const L402 = { document: 'L402 protocol specification and aperture (spec notes §7)' };
const BOLT = { document: 'BOLT 11 / BOLT 7 (spec notes §8)' };
const PROFILE = { document: 'scenarios/asa/profile.md' };

const r = (id: string, level: Requirement['level'], title: string, source: Requirement['source'], text: string, profileAssumption = false): Requirement => ({
  id,
  level,
  title,
  source,
  text,
  profileAssumption,
});

/** Rules the PR gained in d78fb054 (payment verification, attestation namespacing): not in earlier revisions. */
const SINCE_D78 = (q: Requirement): Requirement => ({ ...q, revisions: ['pr-2273@d78fb054'] });

export const asaRequirements = defineCatalog([
  // ---- the relay ------------------------------------------------------------------------------
  r(
    'ASA-RLY-01',
    'MUST',
    'The relay answers every EVENT with OK and serves what it accepted',
    { ...NIP01, section: 'OK, EOSE' },
    'Every EVENT gets ["OK", id, true|false, message]; an accepted event is served back by a REQ on its id, unchanged, followed by EOSE; every REQ gets EOSE, or CLOSED when the relay refuses it (past its max_subscriptions too).',
  ),
  r(
    'ASA-RLY-02',
    'MUST',
    'Events with a wrong id or signature are refused and not stored',
    { ...NIP01, section: 'id and sig' },
    'An event whose id is not the sha256 of its serialisation, or whose BIP-340 signature does not verify, gets OK false and is never served.',
  ),
  r(
    'ASA-RLY-03',
    'MUST',
    'Filters select exactly: ids, authors, kinds, #s, #t, #d, #p',
    { ...PR, section: 'Discovery filters ({"kinds":[38400],"#s":[...]}, #t, #p)' },
    'A REQ returns exactly the stored events that match every field of one of its filters; tag filters match the first value of single-letter tags (#s, #t, #d, #p).',
  ),
  r('ASA-RLY-04', 'MUST', 'since and until are inclusive', { ...NIP01, section: 'Filters: since <= created_at <= until' }, 'An event with created_at equal to since or to until matches.'),
  r(
    'ASA-RLY-05',
    'MUST',
    'limit returns the newest events first (ties: lowest id first)',
    { ...NIP01, section: 'limit' },
    'With limit n the relay returns the n newest matching events, ordered by created_at descending then id ascending.',
  ),
  r(
    'ASA-RLY-06',
    'MUST',
    'Addressable events replace by kind:pubkey:d; older versions are not served',
    { ...PR, section: 'Four addressable event kinds; status transitions by replacement' },
    'A newer version with the same kind, pubkey and d replaces the stored one; an older one arriving later is not served; with equal created_at the lowest id is kept. Another pubkey’s event with the same d is a different address.',
  ),
  r(
    'ASA-RLY-07',
    'SHOULD',
    'NIP-09: an author’s deletion removes the referenced events',
    { document: 'NIP-09 (spec notes §2)', section: 'deletion by e and a' },
    'A kind 5 by the author referencing an event (e) or an address (a, versions up to its created_at) stops the relay serving them; resubmitting a deleted event is not served.',
  ),
  r(
    'ASA-RLY-08',
    'MUST',
    'Nobody deletes another pubkey’s events',
    { document: 'NIP-09 (spec notes §2)', section: 'identical pubkey' },
    'A kind 5 from another pubkey leaves the referenced event and address served.',
  ),
  r(
    'ASA-RLY-09',
    'SHOULD',
    'NIP-40: expired events are not served',
    { document: 'NIP-40 (spec notes §4)', section: 'relays SHOULD NOT send expired events' },
    'An event whose expiration is in the past is refused or not served; one that expires while stored is no longer served.',
  ),
  r(
    'ASA-RLY-10',
    'SHOULD',
    'Gift wraps (kind 1059) are served only to the authenticated recipient',
    { document: 'NIP-17 / NIP-59 (spec notes §3)', section: 'Relays SHOULD serve 1059 only to the p-tagged user (NIP-42)' },
    'A REQ for kind 1059 from a connection not authenticated as the wrap’s p pubkey gets none of it (CLOSED auth-required or no event); after AUTH as the recipient it gets it.',
  ),
  r(
    'ASA-RLY-11',
    'SHOULD',
    'NIP-42 AUTH: the relay sends a challenge and checks it',
    { document: 'NIP-42 (spec notes §2)', section: 'AUTH' },
    'The relay sends ["AUTH", challenge]; a kind 22242 event signing that challenge is accepted with OK true; one signing another challenge gets OK false.',
  ),
  r(
    'ASA-RLY-12',
    'MUST',
    'A message or filter that is not NIP-01 changes nothing and serves nothing',
    { ...NIP01, section: 'messages are JSON arrays; a filter is a JSON object' },
    'An EVENT message sent as a JSON object imitating the array ({"0":"EVENT","1":<event>}) stores nothing, and a REQ whose filter is not a JSON object (null, a number, a string, a boolean) delivers no event. How the relay says no (NOTICE, CLOSED, OK false, EOSE alone, or nothing) is its choice.',
  ),
  // ---- event formats ----------------------------------------------------------------------------
  r(
    'ASA-EVT-01',
    'MUST',
    'The provider’s 38400 carries every required tag in a form the PR allows',
    { ...PR, section: 'Kind 38400 Capability Advertisement' },
    'd, at least one s, at least one ["price","<number>","<currency>","<frequency>"]; l402, endpoint, schema, capacity, uptime, negotiable in the PR’s forms when present.',
  ),
  r(
    'ASA-EVT-02',
    'MUST',
    'Every 38402 version carries the required tags',
    { ...PR, section: 'Kind 38402 Service Agreement' },
    'Two p tags with roles provider and requester, at least one terms ["terms","<type>","<value>","<unit>"], one status of proposed/active/completed/disputed/expired; payment_hash 64 lowercase hex and expiration a unix time when present.',
  ),
  r(
    'ASA-EVT-03',
    'SHOULD',
    'Events use the PR’s forms, not an SDK dialect',
    { ...PR, section: 'tag tables (d required on every kind)' },
    'No dialect readings: d present on 38401/38402/38403, price with currency, terms with four elements, endpoint (not api_endpoint), NIP-40 expiration (not expiry), marked p/e tags.',
  ),
  // ---- negotiation ------------------------------------------------------------------------------
  r(
    'ASA-NEG-01',
    'MUST',
    'The provider answers a service_request over NIP-17',
    { ...PR, section: 'Negotiation: service_request → service_offer | reject' },
    'A service_request DM for its capability gets a service_offer or reject DM, gift-wrapped (kind 1059, p = requester) around a seal signed by the provider whose rumor pubkey is the provider.',
  ),
  r(
    'ASA-NEG-02',
    'MUST',
    'Offers respect the advertised price and floor',
    { ...PR, section: 'negotiable: floor = minimum in sats' },
    'An offer is never below the negotiable floor nor above the listed price; a budget below the floor is rejected; a budget at or above the price is offered the price.',
    true,
  ),
  r(
    'ASA-NEG-03',
    'MUST',
    'accept yields a 38402 active agreement with the negotiated terms',
    { ...PR, section: 'Flow steps 3-4' },
    'After accept, the provider publishes a 38402 (status active) signed by itself, p provider = itself, p requester = the requester, e capability = the 38400, l402 = the capability’s endpoint, per-request terms at the offered price.',
  ),
  r(
    'ASA-PRV-01',
    'MUST',
    'Nothing of a negotiation DM is readable by a third key',
    { document: 'NIP-17 / NIP-44 / NIP-59 (spec notes §3)', section: 'Security: negotiation privacy' },
    'Every DM is a kind 1059 wrap signed by a one-time key (not the provider’s), tagged only with the recipient; a third key cannot unwrap it and the plaintext appears nowhere in the wrap.',
  ),
  // ---- the agreement lifecycle -------------------------------------------------------------------
  r(
    'ASA-AGR-01',
    'MUST',
    'The agreement moves only along proposed → active → completed | disputed | expired',
    { ...PR, section: 'Kind 38402 lifecycle' },
    'The latest 38402 version at the relay always carries the status the lifecycle model expects after each action; a terminal status never changes.',
  ),
  r(
    'ASA-AGR-02',
    'MUST',
    'Only the agreement’s parties move it',
    { ...PR, section: 'Security considerations (forged transitions)' },
    'A complete or dispute DM from a third key changes nothing, and another pubkey’s 38402 with the same d does not replace the provider’s.',
    true,
  ),
  r(
    'ASA-AGR-03',
    'SHOULD',
    'A completed agreement carries the payment_hash of a settled payment of this agreement',
    { ...PR, section: 'payment_hash: SHOULD be included when transitioning to completed' },
    'completed carries ["payment_hash", h] where h is the hash of an invoice of the provider’s node, SETTLED, paid by the requester for this agreement.',
  ),
  r(
    'ASA-AGR-04',
    'SHOULD',
    'An active agreement whose timeout passes without completion becomes expired',
    { ...PROFILE, section: 'ASA-PROF-05' },
    'When terms timeout seconds pass with the agreement active, the provider publishes status expired.',
    true,
  ),
  // ---- L402 -------------------------------------------------------------------------------------
  r(
    'ASA-L402-01',
    'MUST',
    'An unpaid request gets 402 with an L402 challenge',
    { ...L402, section: '§7.1 challenge' },
    'Status 402 with WWW-Authenticate: L402 (or LSAT) macaroon="…"|token="…", invoice="…"; the macaroon decodes (V2) and its identifier commits to the invoice’s payment hash.',
  ),
  r('ASA-L402-02', 'MUST', 'A paid credential is served', { ...L402, section: '§7.2 credential' }, 'Authorization: L402 <macaroon>:<preimage of the paid invoice> gets a 2xx.'),
  r(
    'ASA-L402-03',
    'MUST',
    'A preimage of another invoice is refused',
    { ...L402, section: '§7.2 verify H == sha256(r)' },
    'A credential whose preimage belongs to another (paid) invoice gets 401 (a 4xx), never the resource.',
  ),
  r(
    'ASA-L402-04',
    'MUST',
    'A forged or tampered macaroon is refused',
    { ...L402, section: '§7.3 VerifySignature' },
    'A macaroon minted with another root key, or with a caveat removed, gets a 4xx even with the right preimage.',
  ),
  {
    ...r(
      'ASA-L402-05',
      'MUST',
      'The expiry caveat is checked on every request',
      { ...PR, section: 'Security: macaroons SHOULD carry expiry …; providers MUST validate all caveats on every request' },
      'A macaroon whose <service>_valid_until is past (e.g. attenuated by the holder) gets a 4xx. The lifetime is the provider’s choice; a profile that sets tokenLifetimeSeconds certifies the provider as minting tokens valid until mint time + that lifetime (ASA-PROF-12).',
    ),
    constants: ['tokenLifetimeSeconds'],
  },
  r(
    'ASA-L402-06',
    'MUST',
    'The service-scope caveat is checked on every request',
    { ...PR, section: 'Security: service-scope caveats' },
    'A macaroon attenuated to services=<another service>:0 gets a 4xx.',
  ),
  {
    ...r(
      'ASA-L402-07',
      'MUST',
      'The request-count caveat is checked on every request',
      { ...PR, section: 'Security: request-count caveats' },
      'A token used past its <service>_max_requests (or past a holder-lowered count) gets a 4xx. The count is the provider’s choice; a profile that sets tokenMaxRequests certifies the provider as minting tokens that carry that count and serve exactly that many requests (ASA-PROF-12).',
      true,
    ),
    constants: ['tokenMaxRequests'],
  },
  r(
    'ASA-L402-08',
    'MUST',
    'Unknown caveats are skipped',
    { ...L402, section: '§7.4 Unknown caveats MUST be skipped' },
    'A paid macaroon attenuated with an unknown caveat (x-asa-note=1) is still served.',
  ),
  r('ASA-L402-09', 'SHOULD', 'The LSAT spelling is accepted', { ...L402, section: '§7.1 accept LSAT wherever L402 appears' }, 'Authorization: LSAT <macaroon>:<preimage> is served like L402.'),
  r(
    'ASA-L402-10',
    'MUST',
    'A malformed Authorization gets a 4xx and changes nothing',
    { ...L402, section: '§7.2 malformed → 402 with a fresh challenge; invalid → 401' },
    'Garbage, a bad preimage format, an upper-case hex preimage or a truncated macaroon gets 401/402, never 5xx, and the paid token still works afterwards.',
  ),
  r(
    'ASA-L402-11',
    'SHOULD',
    'The challenge names the L402 scheme',
    { ...L402, section: '§7.1 challenge: L402 (2026 text, bLIP-26, the A5 PR); aperture sends LSAT and L402' },
    'Among the 402’s WWW-Authenticate challenges one has the scheme L402 (macaroon= or token=); an LSAT challenge alone is the legacy name that clients written to the current text do not look for.',
  ),
  // ---- Lightning ---------------------------------------------------------------------------------
  r(
    'ASA-LN-01',
    'MUST',
    'The invoice is a valid BOLT11 of the provider’s node for the advertised price',
    { ...BOLT, section: 'signature, payment_hash, d/h, expiry' },
    'The signature recovers to the declared provider node; amount in msat equals the 38400 price (or the agreement’s terms); one 32-byte payment_hash; exactly one of d and h; not expired when issued.',
  ),
  r(
    'ASA-LN-02',
    'MUST',
    'Payments settle with base + proportional fees and conserve money',
    { ...BOLT, section: 'BOLT 7 fee_base_msat + fee_proportional_millionths' },
    'The preimage hashes to the payment hash; the invoice is SETTLED; the payer loses amount + fees, the payee gains amount, each forwarder gains base + amount × ppm / 10^6 of what it forwards; the sum of channel balances never changes.',
  ),
  r(
    'ASA-LN-03',
    'MUST',
    'Channel exhaustion: an uncarriable payment fails and moves nothing; a retry routes around',
    { ...PR, section: 'Settlement via Lightning (issue: channel exhaustion first class)' },
    'When no route has the liquidity, or none within the payer’s maxFeeMsat, payment fails with a 4xx and no balance changes; after liquidity on one path is used up, a payment takes another path.',
    true,
  ),
  r(
    'ASA-LN-04',
    'MUST',
    'An invoice is paid at most once and never after it expires',
    { ...BOLT, section: 'payer SHOULD NOT pay after timestamp + expiry' },
    'Paying a settled invoice again, or an expired one, fails with a 4xx and moves nothing.',
  ),
  r(
    'ASA-LN-05',
    'SHOULD',
    'A payment takes the cheapest route that can carry it',
    { ...PROFILE, section: 'ASA-PROF-10' },
    'Of the routes with the liquidity (and within the payer’s fee limit), the payment takes one with the lowest total fee; between equal fees either.',
    true,
  ),
  r(
    'ASA-LN-06',
    'MUST',
    'The network API refuses a bad request with a 4xx and changes nothing',
    { ...PROFILE, section: 'ASA-PROF-10' },
    'A channel to an unregistered node or from a node to itself, a path that is no route, a payment without an invoice, and a valid invoice sent with another method than POST or to another path than /payments each get a 4xx (never a 5xx or a 2xx), open no channel, move no balance and leave the invoice unpaid.',
    true,
  ),
  // ---- robustness --------------------------------------------------------------------------------
  r(
    'ASA-ROB-01',
    'MUST',
    'Malformed input gets no 5xx and no dropped connection, is refused where it could change state, reveals no secret, and changes nothing',
    {
      ...PROFILE,
      section:
        'ASA-PROF-13 robustness (NIP-01: OK MUST answer an EVENT, errors as NOTICE/OK false/CLOSED; RFC 6455 §8.1; RFC 9110 §15.5-15.6: a client error is a 4xx; DESIGN rule 7 "no 500 for a client\'s mistake")',
    },
    "Every malformed frame to the relay (not JSON, a message of the wrong shape, an event with a bad id, signature, kind, tags or field, the provider's own 38402 or 38400 one field off, oversized content, a bad AUTH, a REQ or CLOSE with a bad subscription id or filter) leaves the connection open and answering (a text frame that is not UTF-8, a binary frame or a frame over 64 KiB may close it), gets no OK true for the event it carries, and an EVENT whose event is well formed but whose id or signature does not verify gets OK false; every malformed request to the L402 resource (no, malformed, forged, attenuated or mismatched credential, an agreement that names nothing, another method or path) or to the Lightning API (bad node keys, channels to nobody or to oneself, bad amounts, invoices cut, tampered, paid, expired or of an unknown node, a fee limit no route meets, another method or path) is answered below 500 (501 for an unimplemented method; a closed connection for a transport-level defect or a body over 64 KiB), with a 4xx where it could change state, and carries no secret it was not sent; after a batch the relay serves the provider's capability and agreement as before and none of the batch's events, the fixture's nodes keep their channels, balances and online flags, its invoices their states, no node the batch named is registered, and the paid token the batch carried broken still buys its request.",
    true,
  ),
  // ---- crashes and duplicate delivery ----------------------------------------------------------------
  r(
    'ASA-RST-01',
    'MUST',
    'A provider killed and restarted at any step of an agreement honours what was paid, no more, and charges nothing twice',
    { ...PROFILE, section: 'ASA-PROF-14 A restart loses nothing; spec notes §1.9 "providers MUST validate all caveats on every request"; L402: a paid credential buys its requests' },
    "When the provider's L402 server is killed with SIGKILL and restarted (capability restart: the target's restart control for asa-l402) after the offer was accepted, after the invoices were issued, after one was paid (before delivery), after delivery, after completion and after the attestation: an unpaid request for the agreement still gets 402 with an invoice at the agreement's terms signed by the provider's node; the paid credential (macaroon + preimage) is served (2xx), never refused or answered with a second invoice; a token whose invoice was not paid is refused (4xx); a spent one-request token is not served again (4xx; a token whose count allows more is served, one with no count is served or refused, never a 5xx); the payer was debited the one payment and nothing more; the complete DM moves the agreement to completed (its payment_hash, when present, the payment made before the restarts); the relay serves the provider's 38400, the agreement's latest status, the attestation, and exactly one agreement for the requester; the service_request is not offered a second time.",
    true,
  ),
  r(
    'ASA-FLT-01',
    'MUST',
    'A pay call or a paid L402 request delivered twice pays once, serves within the token and never fails with a 5xx',
    { ...PROFILE, section: 'ASA-PROF-15 Duplicate delivery; BOLT 11: an invoice is paid once; L402: a credential may be reused while its caveats allow' },
    "When the network delivers the Lightning API's pay call twice (at once, or the second after the first's answer), each delivery is answered with the invoice's payment (200 with its preimage) or refused (4xx), the payer is debited one payment (amount + routing fee), the provider's invoice is settled and the credential is served. When it delivers the paid L402 request twice, each delivery is served (2xx) or refused (4xx), never a 5xx; it is served at least once and no more often than the token's own request count (`<service>_max_requests`, when the token carries one), a further use is refused once the count is spent (served while it is not), and the payer pays nothing again.",
    true,
  ),
  // ---- attestations --------------------------------------------------------------------------------
  SINCE_D78(
    r(
      'ASA-ATT-01',
      'MUST',
      'A proof-bearing attestation by the requester of a completed agreement counts',
      { ...PR, section: 'Payment verification (Interoperability)' },
      'The reputation view counts a 38403 signed by the agreement’s requester whose proof equals the agreement’s payment_hash of a settled payment.',
    ),
  ),

  SINCE_D78(
    r(
      'ASA-ATT-02',
      'MUST',
      'Fake proofs, self-dealing, non-parties and review bombing are not counted',
      { ...PR, section: 'Security: Sybil, review bombing; verifier steps (a)-(c)' },
      'Not counted: a proof never settled, a proof of another agreement, an attestation on an agreement the subject did not sign, by a key that is not the requester, or a second one for the same agreement.',
    ),
  ),
]);
