/**
 * Requirement register of `x402`: every non-blank line of the spec notes' x402 section (the copy in
 * sources/) and every element of the protocol's surface (headers, messages, facilitator routes, the
 * EIP-3009 calls, views and events the exact scheme uses) maps to requirement ids, or says why it
 * needs no check. `harness/packs/register.test.ts` keeps it complete and its quotes pinned.
 */
import { defineRegister, type RegisterEntry } from '../../harness/engine/register.ts';

/** Every requirement a refused payment answers to: a 4xx, and nothing changed. */
const REFUSALS = ['X402-AMT-01', 'X402-NEG-01', 'X402-NEG-02', 'X402-NEG-03', 'X402-NEG-05', 'X402-NEG-08', 'X402-NEG-09', 'X402-NEG-10', 'X402-NEG-11'];

const NPM = 'describes npm package APIs and internals, not a rule a server follows on the wire';
const HEADING = 'heading or source list';
const UNDEPLOYED_WALLETS =
  'ERC-6492 payers (a wallet not yet deployed, with its factory data) need an ERC-4337 factory and the UniversalSigValidator on the target chain; not covered (deployed ERC-1271 wallets are: X402-SW-01, placed with set-code)';
const OUT_OF_SCOPE_METHODS = 'Permit2, ERC-7710 and the upto scheme: the harness pays exact/EIP-3009 only (the default when extra.assetTransferMethod is absent)';
const REASONS =
  'reason vocabularies differ between spec versions and implementations (line 241: "treat them as open strings"); the scenarios judge isValid/success, statuses and the chain, never reason strings, except that X402-FLT-12 refuses the published codes that name a payment defect (invalid_*, insufficient_funds, ...) for a payment the facilitator could not check';

const e = (lines: [number, number], quote: string, to: string[] | string): RegisterEntry =>
  typeof to === 'string' ? { source: 'notes', lines, quote, notTestable: to } : { source: 'notes', lines, quote, requirements: to };

export const x402Register = defineRegister({
  sources: [
    {
      id: 'notes',
      title: 'Spec notes, section 1: x402',
      file: 'scenarios/x402/sources/spec-notes-x402.md',
      origin: '/work/shared/specs/x402-erc8004.md, lines 12-449 (§1 x402), copied unchanged',
    },
  ],
  entries: [
    // 1.1 v1 vs v2 at a glance
    e([1, 6], '1.1 v1 vs v2 at a glance', HEADING),
    e([7, 7], '`x402Version` | `1` | `2`', ['X402-CH-01', 'X402-AMT-02']),
    e([8, 8], '402 challenge carried in', ['X402-CH-01']),
    e([9, 9], 'client payment header', ['X402-PAY-01', 'X402-NEG-06', 'X402-NEG-07', 'X402-ROB-01']),
    e([10, 10], 'settlement receipt header', ['X402-PAY-01', 'X402-PAY-02']),
    e([11, 11], 'network ids', ['X402-CH-01', 'X402-NEG-03']),
    e([12, 12], 'amount field', ['X402-CH-01', 'X402-AMT-01', 'X402-AMT-02']),
    e([13, 13], 'resource info', ['X402-CH-01']),
    e([14, 14], 'payload echoes choice', ['X402-NEG-05']),
    e([15, 15], 'extensions | none', 'extensions are optional and extension-specific; the exact scheme needs none and the scenarios send none'),
    e([17, 21], 'Sources: [x402:specs/transports-v1/http.md]', HEADING),
    // 1.2 v1 wire format
    e([23, 37], '402 response body (`PaymentRequirementsResponse`)', ['X402-CH-01']),
    e(
      [38, 42],
      'The legacy zod schema is stricter on some and looser on others',
      'the legacy npm package is stricter than the spec; servers are held to the spec (line 36), as the official v2 code reads v1 requirements',
    ),
    e([44, 51], '`X-PAYMENT` header content', ['X402-PAY-01', 'X402-AMT-02']),
    e([53, 58], 'Legacy zod rules for this payload', ['X402-NEG-06']),
    e([60, 61], '`X-PAYMENT-RESPONSE` header content', ['X402-PAY-01', 'X402-HDR-01']),
    e([62, 63], '`errorReason` is present only on failure', ['X402-PAY-02']),
    e([64, 64], 'In the v1 spec, `payer` and `network` are required.', ['X402-PAY-01']),
    e([66, 70], 'v1 HTTP status mapping', ['X402-CH-01']),
    e([71, 71], 'malformed payload | 400', ['X402-NEG-06', 'X402-ROB-01']),
    e([72, 72], 'verify or settle failed | 402', [...REFUSALS, 'X402-AMT-02', 'X402-NEG-04']),
    e([73, 73], 'server error | 500', ['X402-ROB-01']),
    e([74, 74], 'success | 200', ['X402-PAY-01']),
    // 1.3 v2 wire format
    e([76, 78], '1.3 v2 wire format', HEADING),
    e([80, 95], 'the decoded `PAYMENT-REQUIRED` header', ['X402-CH-01']),
    e([96, 96], '`PaymentPayload` (spec)', ['X402-PAY-01', 'X402-NEG-05']),
    e([97, 97], '`SettleResponse` | `success`, `transaction`', ['X402-PAY-01', 'X402-PAY-02', 'X402-FAC-03']),
    e([98, 98], '`VerifyResponse` | `isValid`', ['X402-FAC-02']),
    e([100, 100], 'Notes on these fields:', HEADING),
    e([102, 102], 'The TS type declares `extra: Record<string, unknown>` as non-optional.', 'a TypeScript typing detail of the npm package'),
    e([103, 103], 'Extensions are an object keyed by extension id', 'a client rule about extensions; the exact scheme uses none'),
    e([104, 104], '`accepted` holds the chosen `PaymentRequirements` copied verbatim', ['X402-NEG-05', 'X402-AMT-02']),
    e([105, 105], 'also carry `errorMessage` and `invalidMessage`', 'optional free-text fields'),
    e([107, 113], 'v2 header summary', ['X402-CH-01', 'X402-PAY-01']),
    e([115, 115], 'On settlement failure the response is a 402 carrying `PAYMENT-RESPONSE` with `success:false`', ['X402-PAY-02', 'X402-RACE-01', 'X402-SET-02']),
    e([117, 120], 'Standard base64', ['X402-CH-01', 'X402-NEG-06']),
    e([121, 121], 'Functions: `encodePaymentSignatureHeader`', NPM),
    e([123, 123], 'Spec vs reference code, where they differ', HEADING),
    e([125, 125], 'The spec example uses the initial `error` string', 'error strings are free text; the scenarios read statuses, headers and the chain'),
    e([126, 126], 'reads the `PAYMENT-REQUIRED` header first', ['X402-CH-01']),
    e([127, 127], 'The v2 TS resource server reads **only `PAYMENT-SIGNATURE`**', ['X402-AMT-02']),
    e([128, 128], 'The client picks the request header by version', ['X402-PAY-01']),
    e([129, 129], "Browser clients still need the server's CORS to expose `PAYMENT-REQUIRED`", ['X402-CH-02']),
    e(
      [130, 130],
      'gets a paywall page, that page carries **no** `PAYMENT-REQUIRED` header',
      `a browser paywall page (HTML for a Mozilla user agent asking for text/html) and a Permit2 status; the scenarios are API clients. ${OUT_OF_SCOPE_METHODS}`,
    ),
    // 1.4 exact scheme on EVM
    e([132, 134], '1.4 The `exact` scheme on EVM (EIP-3009 path)', HEADING),
    e([136, 141], 'Transfer methods.', OUT_OF_SCOPE_METHODS),
    e([143, 152], 'EIP-712 typed data for EIP-3009', ['X402-CH-01', 'X402-NEG-02', 'X402-NEG-03', 'X402-NEG-10']),
    e([154, 154], 'In v1 the chainId comes from the network name', ['X402-NEG-03', 'X402-AMT-02']),
    e([156, 165], 'Client construction', ['X402-PAY-01']),
    e([167, 167], 'The client throws if `extra.name` or `extra.version` is missing.', ['X402-CH-01']),
    e([169, 169], 'Facilitator `verifyEIP3009` runs checks in this order.', ['X402-FAC-02']),
    e([171, 171], 'must both be `"exact"`', ['X402-FAC-02']),
    e([172, 172], '`extra.name` and `extra.version` must be present', ['X402-CH-01']),
    e([173, 173], '`accepted.network === requirements.network`', ['X402-NEG-03', 'X402-FAC-02']),
    e([174, 175], '`signer.verifyTypedData` must succeed', ['X402-NEG-10', 'X402-SIG-01', 'X402-FAC-02']),
    e([176, 176], 'A longer signature with no code at the address', UNDEPLOYED_WALLETS),
    e([177, 177], 'A deployed smart wallet, or one with 6492 deploy data, falls through to simulation.', ['X402-SW-01']),
    e([178, 178], '`authorization.to == payTo`', ['X402-NEG-01', 'X402-FAC-02']),
    e([179, 179], '`validBefore < now + 6`', ['X402-NEG-08', 'X402-FAC-02']),
    e([180, 180], '`validAfter > now`', ['X402-NEG-09', 'X402-FAC-02']),
    e([181, 181], '`BigInt(value) !== BigInt(requirements.amount)`', ['X402-AMT-01', 'X402-AMT-02', 'X402-FAC-02']),
    e([182, 188], 'Simulation (on by default in verify)', ['X402-NEG-04', 'X402-NEG-11', 'X402-FAC-02', 'X402-FLT-09', 'X402-FLT-12']),
    e([190, 190], 'On success the verifier returns `{ isValid: true, payer: authorization.from }`.', ['X402-FAC-02']),
    e([192, 194], 'Re-verify without simulation.', ['X402-FAC-03', 'X402-ORG-01']),
    e([195, 195], 'Optionally deploy an ERC-4337 wallet', UNDEPLOYED_WALLETS),
    e([196, 197], "Call the token's `transferWithAuthorization", ['X402-PAY-01', 'X402-SW-01', 'X402-FAC-03', 'X402-FLT-06', 'X402-FLT-10', 'X402-FLT-11', 'X402-ORG-01', 'X402-RST-01']),
    e([199, 199], 'Thrown errors are mapped by regex', REASONS),
    e([201, 206], 'settle returns `success:false, errorReason:"settlement_pending"`', ['X402-FLT-03', 'X402-FLT-04', 'X402-FLT-05', 'X402-FLT-07', 'X402-FLT-08', 'X402-FLT-10']),
    // 1.5 facilitator HTTP API
    e([208, 210], '1.5 Facilitator HTTP API', HEADING),
    e([212, 214], '**Default URL**', 'addresses of hosted facilitators: deployment facts, not rules'),
    e([216, 220], '`POST {url}/verify`', ['X402-FAC-02', 'X402-FAC-04']),
    e([221, 221], 'A missing body field gets 400 `{error}`', ['X402-FAC-02', 'X402-FAC-04']),
    e([222, 222], 'CDP returns HTTP 400 with `invalidReason`', ['X402-FAC-02']),
    e([224, 229], '`POST {url}/settle`', ['X402-FAC-03', 'X402-FAC-05']),
    e([231, 235], '`GET {url}/supported`', ['X402-FAC-01']),
    e([236, 236], 'The client retries `getSupported` 3×', 'client behaviour'),
    e([237, 237], 'Resource servers call `/supported` at start-up', 'start-up behaviour of a resource server: one that fails it does not start, nothing to observe from outside'),
    e([239, 239], '**Discovery:**', 'the Bazaar discovery extension: optional, not part of paying'),
    e([241, 265], 'Error-reason vocabularies.', REASONS),
    // 1.6 resource-server semantics
    e([267, 271], '1.6 Resource-server (middleware) semantics', HEADING),
    e([273, 274], 'Match the route.', ['X402-CH-01']),
    e([275, 275], 'Decode the header, match it to the requirements', [...REFUSALS, 'X402-NEG-06']),
    e([276, 277], 'do not settle', ['X402-SET-01']),
    e([278, 279], 'Otherwise call `/settle`.', ['X402-PAY-01']),
    e([280, 280], 'On failure, drop the handler body and return 402', ['X402-PAY-02', 'X402-NEG-04', 'X402-NEG-11', 'X402-RACE-01', 'X402-SET-02', 'X402-SET-03']),
    e([281, 281], 'A facilitator boundary error returns **502**', "needs the target's facilitator to fail on purpose; no capability lets the harness break it"),
    e([283, 283], 'Consequence: settlement happens *after* the work is done', 'a consequence of the flow and user complaints; the rule is line 277 (X402-SET-01)'),
    e([285, 290], 'Other v2 server behaviour:', 'server configuration syntax of the npm package'),
    e([291, 291], "Money is converted with the network's default stablecoin", ['X402-CH-01']),
    e([292, 292], 'The v2 default `maxTimeoutSeconds` is **300**', 'a default, not a rule: the scenarios require maxTimeoutSeconds > 0 (X402-CH-01) and sign windows from the offered value'),
    e([293, 297], 'setSettlementOverrides', `partial settlement belongs to the upto scheme; hooks are npm API. ${NPM}`),
    // 1.7 npm packages
    e([299, 351], '1.7 npm packages and their APIs', NPM),
    e([353, 356], 'Network identifiers', ['X402-CH-01', 'X402-NEG-03']),
    e([357, 358], 'Solana: mainnet', 'other chain families than the EVM chains a target declares'),
    e([360, 365], 'v2 default stablecoins', ['X402-CH-01']),
    e([366, 371], '`eip155:137` (Polygon)', 'chains other than Base / Base Sepolia; a target declares its own USDC and domain'),
    // 1.8 how x402 tests itself
    e([373, 392], '1.8 How x402 tests itself', "describes x402's own test suite"),
    e([393, 393], 'Pass criteria: the client exits 0', ['X402-PAY-01']),
    e([394, 404], 'e2e/mock-facilitator', "describes x402's own test suite"),
    // 1.9 user complaints
    e([406, 408], '1.9 Main user complaints in the issues', HEADING),
    e([410, 411], 'Wrong EIP-712 domain leads to signature failure.', ['X402-CH-01']),
    e([412, 412], 'A MetaMask `eth_signTypedData_v4` quirk', 'a wallet quirk on the client side'),
    e([413, 415], 'Smart-wallet signatures rejected.', ['X402-SW-01', 'X402-NEG-10']),
    e([416, 418], 'Hosted facilitator failures.', 'user complaints about hosted facilitators, no server rule beyond the ones mapped elsewhere'),
    e([419, 419], 'rejected spec-shaped v2 payloads', ['X402-FAC-02']),
    e([420, 421], 'so the payer was debited but got a 402', ['X402-PAY-01', 'X402-RACE-01', 'X402-FLT-03']),
    e([422, 424], 'Recovery keyed on (payer, payTo, value, nonce)', ['X402-FLT-01', 'X402-RST-01']),
    e([425, 429], 'Replay and double-spend windows.', ['X402-NEG-04', 'X402-RACE-01', 'X402-PAY-01', 'X402-FLT-02']),
    e([430, 432], 'v1/v2 header confusion.', ['X402-CH-01', 'X402-AMT-02']),
    e([433, 433], 'A CORS rule that does not expose the header.', ['X402-CH-02']),
    e([434, 434], 'Failure reasons lost.', 'user complaint; the v2 failure body is {} by design (line 280) and a reason is not required'),
    e([435, 435], 'HTTP 200 can come with `success:false`; settle re-runs verify', ['X402-FAC-03']),
    e([437, 437], '---', 'section separator'),
  ],
  surface: [
    { kind: 'header', name: 'PAYMENT-REQUIRED (402 challenge, v2)', requirements: ['X402-CH-01', 'X402-CH-02'] },
    { kind: 'header', name: 'PAYMENT-SIGNATURE (payment, v2)', requirements: ['X402-PAY-01', 'X402-NEG-05', 'X402-NEG-06', 'X402-NEG-07', 'X402-ROB-01'] },
    { kind: 'header', name: 'PAYMENT-RESPONSE (settlement, v2)', requirements: ['X402-PAY-01', 'X402-PAY-02', 'X402-HDR-01'] },
    { kind: 'header', name: 'X-PAYMENT (payment, v1)', requirements: ['X402-PAY-01', 'X402-AMT-02', 'X402-NEG-06', 'X402-NEG-07'] },
    { kind: 'header', name: 'X-PAYMENT-RESPONSE (settlement, v1)', requirements: ['X402-PAY-01', 'X402-PAY-02', 'X402-HDR-01'] },
    { kind: 'header', name: 'Access-Control-Expose-Headers (on the 402)', requirements: ['X402-CH-02'] },
    { kind: 'message', name: 'v1 402 body PaymentRequirementsResponse {x402Version, error, accepts}', requirements: ['X402-CH-01'] },
    { kind: 'message', name: 'PaymentRequired {x402Version, resource, accepts, error?, extensions?}', requirements: ['X402-CH-01'] },
    { kind: 'message', name: 'PaymentPayload v2 {x402Version, accepted, payload}', requirements: ['X402-PAY-01', 'X402-NEG-05'] },
    { kind: 'message', name: 'PaymentPayload v1 {x402Version, scheme, network, payload}', requirements: ['X402-PAY-01', 'X402-AMT-02'] },
    { kind: 'message', name: 'exact/EVM payload {signature, authorization{from, to, value, validAfter, validBefore, nonce}}', requirements: [...REFUSALS, 'X402-PAY-01'] },
    { kind: 'message', name: 'SettleResponse {success, transaction, network, payer?}', requirements: ['X402-PAY-01', 'X402-PAY-02', 'X402-FAC-03'] },
    { kind: 'message', name: 'VerifyResponse {isValid, invalidReason?, payer?}', requirements: ['X402-FAC-02'] },
    { kind: 'route', name: 'the paid resource (target endpoint x402-resource: any method, body, headers)', requirements: ['X402-CH-01', 'X402-PAY-01', 'X402-RST-01'] },
    { kind: 'route', name: 'a paid request its handler refuses (target endpoint x402-resource-failing)', requirements: ['X402-SET-01'] },
    { kind: 'route', name: 'POST /verify', requirements: ['X402-FAC-02', 'X402-FAC-04'] },
    { kind: 'route', name: 'POST /settle', requirements: ['X402-FAC-03', 'X402-FAC-04', 'X402-ORG-01'] },
    { kind: 'route', name: 'GET /supported', requirements: ['X402-FAC-01'] },
    { kind: 'route', name: 'GET /discovery/resources', notTestable: 'the Bazaar discovery extension: optional, not part of paying' },
    { kind: 'function', name: 'transferWithAuthorization(from, to, value, validAfter, validBefore, nonce, v, r, s)', requirements: ['X402-PAY-01', 'X402-FAC-03'] },
    { kind: 'function', name: 'transferWithAuthorization(from, to, value, validAfter, validBefore, nonce, bytes signature)', requirements: ['X402-SW-01'] },
    { kind: 'view', name: 'authorizationState(authorizer, nonce)', requirements: ['X402-PAY-01', 'X402-NEG-04', 'X402-FAC-02', 'X402-FAC-03', 'X402-SET-01', ...REFUSALS] },
    { kind: 'view', name: 'balanceOf(account)', requirements: ['X402-PAY-01', 'X402-NEG-11'] },
    { kind: 'view', name: 'name() / version() (the EIP-712 domain in extra)', requirements: ['X402-CH-01'] },
    { kind: 'event', name: 'Transfer(from, to, value)', requirements: ['X402-PAY-01', 'X402-FAC-03'] },
    { kind: 'event', name: 'AuthorizationUsed(authorizer, nonce)', requirements: ['X402-PAY-01', 'X402-FAC-03'] },
    { kind: 'field', name: 'extra.assetTransferMethod', notTestable: OUT_OF_SCOPE_METHODS },
    { kind: 'field', name: 'extensions', notTestable: 'optional; the exact scheme uses none' },
  ],
});
