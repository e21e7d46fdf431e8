/**
 * Requirement catalog for `x402`: an x402 resource server (and optionally its facilitator) taking
 * `exact` payments in a USDC on a chain the target names. Sources: specs/x402-erc8004.md §1 (x402 v1
 * and v2 specifications, transports, the exact/EVM scheme, facilitator API).
 */
import { defineCatalog } from '../../harness/engine/catalog.ts';

const V2 = { document: 'x402 v2 specification + HTTP transport (specs/x402-erc8004.md §1.3)' };
const V1 = { document: 'x402 v1 specification + HTTP transport (specs/x402-erc8004.md §1.2)' };
const EXACT = { document: 'x402 exact scheme on EVM, EIP-3009 (specs/x402-erc8004.md §1.4)' };
const FAC = { document: 'x402 facilitator HTTP API (specs/x402-erc8004.md §1.5)' };
const MW = { document: 'x402 resource-server semantics (specs/x402-erc8004.md §1.6)' };

export const x402Requirements = defineCatalog([
  {
    id: 'X402-CH-01',
    level: 'MUST',
    title: 'A request without payment gets 402 with usable payment requirements',
    source: { ...V2, section: '402 challenge in the PAYMENT-REQUIRED header (v2) / JSON body (v1)' },
    text: 'No payment → 402 whose PAYMENT-REQUIRED header (v2) or body (v1) offers scheme "exact" in the target chain\'s USDC (network eip155:<chainId> / v1 name), with an integer amount > 0, a payTo address, maxTimeoutSeconds > 0 and extra.name/version equal to the token\'s EIP-712 domain.',
    profileAssumption: false,
  },
  {
    id: 'X402-PAY-01',
    level: 'MUST',
    title: 'An exact payment is settled once, for exactly the amount, and the resource is served',
    source: { ...V2, section: 'PAYMENT-SIGNATURE → 200 + PAYMENT-RESPONSE {success, transaction, network, payer}' },
    text: 'A correctly signed payment of the offered requirement → 2xx with the resource and a PAYMENT-RESPONSE (X-PAYMENT-RESPONSE in v1) saying success with the transaction hash; the payer loses exactly the amount and payTo gains exactly it.',
    profileAssumption: false,
  },
  {
    id: 'X402-AMT-01',
    level: 'MUST',
    title: 'v2 exact amount: paying one unit less or more is refused',
    source: { ...EXACT, section: 'verify: BigInt(value) !== BigInt(requirements.amount) → invalid (exact equality in v2)' },
    text: 'In v2 the authorized value must equal `amount`: value = amount − 1 or amount + 1 is refused (402) and moves no USDC.',
    profileAssumption: false,
  },
  {
    id: 'X402-AMT-02',
    level: 'MUST',
    title: 'v1 amount: underpayment refused; overpayment read either way but never overcharged',
    source: { ...V1, section: 'maxAmountRequired; legacy facilitator rejects only value < maxAmountRequired, @x402/evm 2.x v1 wants equality' },
    text: 'With X-PAYMENT (v1) a value below maxAmountRequired is refused with no USDC moved. A value above it may be refused (equality reading) or accepted (legacy reading); if accepted, exactly the signed value moves, once. Both readings pass.',
    profileAssumption: false,
  },
  {
    id: 'X402-NEG-01',
    level: 'MUST',
    title: 'A payment to another payTo is refused',
    source: { ...EXACT, section: 'verify: authorization.to must equal requirements.payTo' },
    text: 'An authorization whose `to` is not the offered payTo is refused (402) and moves no USDC.',
    profileAssumption: false,
  },
  {
    id: 'X402-NEG-02',
    level: 'MUST',
    title: 'A payment in another asset is refused',
    source: { ...EXACT, section: 'requirements.asset is the EIP-3009 token; the signature domain is that token' },
    text: 'A payment naming or signed for another token contract is refused (402/4xx) and moves no USDC.',
    profileAssumption: false,
  },
  {
    id: 'X402-NEG-03',
    level: 'MUST',
    title: 'A payment for another network is refused',
    source: { ...EXACT, section: 'verify: payload network must equal requirements network; chainId in the EIP-712 domain' },
    text: 'A payment whose accepted network (and signing chainId) is another chain is refused (402/4xx) and moves no USDC.',
    profileAssumption: false,
  },
  {
    id: 'X402-NEG-04',
    level: 'MUST',
    title: 'A replayed authorization is refused',
    source: { ...EXACT, section: 'EIP-3009 nonce single use; verify: authorizationState(from, nonce) must be false' },
    text: 'Sending an already settled PAYMENT-SIGNATURE again is refused (402/4xx), the resource is not served again and no USDC moves.',
    profileAssumption: false,
  },
  {
    id: 'X402-NEG-05',
    level: 'MUST',
    title: 'A tampered `accepted` is refused',
    source: { ...V2, section: '"accepted holds the chosen PaymentRequirements copied verbatim"; the server matches it to its own accepts (deepEqual)' },
    text: 'A v2 payload whose `accepted` differs from every offered requirement (e.g. amount lowered to 1 and signed for 1) is refused and moves no USDC.',
    profileAssumption: false,
  },
  {
    id: 'X402-NEG-06',
    level: 'MUST',
    title: 'A malformed payment header gets a 4xx, never a 5xx or the resource',
    source: { ...MW, section: 'v1 transport: malformed payment → 400; v2 TS server: treated as no payment (402)' },
    text: 'A payment header that is not base64, not JSON, or not a payment payload is answered with 400 or 402 (both readings accepted), never 2xx or 5xx, and moves no USDC.',
    profileAssumption: false,
  },
  {
    id: 'X402-NEG-07',
    level: 'MUST',
    title: 'A 1 MB payment header is refused without a 5xx',
    source: { ...MW, section: 'HTTP header limits (Node answers 431); DESIGN rule 7 "no 500 for a client\'s mistake"' },
    text: 'A request with a 1 MB PAYMENT-SIGNATURE is answered with a 4xx (431, 413 or 400) or the connection is refused; never 2xx or 5xx; no USDC moves.',
    profileAssumption: false,
  },
  {
    id: 'X402-NEG-08',
    level: 'MUST',
    title: 'An authorization expired by chain time is refused, also when it expires before settlement',
    source: { ...EXACT, section: 'validBefore checked against the chain clock (the token judges by block time)' },
    text: 'An authorization with validBefore in the past, or one that was valid when signed but whose validBefore passed (chain time) before it was sent, is refused (402) and moves no USDC.',
    profileAssumption: false,
  },
  {
    id: 'X402-RACE-01',
    level: 'MUST',
    title: 'Two clients racing one authorization get the resource at most once',
    source: { ...EXACT, section: 'EIP-3009 nonce single use; x402 issues #803/#3060 (duplicate settlement)' },
    text: 'When two buyers send the same signed authorization concurrently, at most one request is served and the value moves exactly once.',
    profileAssumption: false,
  },
  {
    id: 'X402-FAC-01',
    level: 'MUST',
    title: 'The facilitator lists its kinds and verifies without moving money',
    source: { ...FAC, section: 'GET /supported, POST /verify {isValid, invalidReason, payer}' },
    text: '/supported lists exact on eip155:<chainId>; /verify answers isValid:true for an honest payment and isValid:false for an underpayment, and moves no USDC either way.',
    profileAssumption: false,
  },
]);
