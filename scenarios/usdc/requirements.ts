/**
 * Requirement catalog for `usdc`: EIP-3009 and EIP-2612 behaviour of the target's USDC
 * (Circle FiatToken v2.2), plus the EIP-712 domain Base clients rely on.
 */
import { defineCatalog } from '../../harness/engine/catalog.ts';

const EIP3009 = { document: 'EIP-3009 Transfer With Authorization', url: 'https://eips.ethereum.org/EIPS/eip-3009' };
const EIP2612 = { document: 'EIP-2612 permit', url: 'https://eips.ethereum.org/EIPS/eip-2612' };
const FIAT = { document: 'Circle stablecoin-evm FiatToken v2 (contracts/v2/EIP3009.sol, EIP2612.sol)', url: 'https://github.com/circlefin/stablecoin-evm' };

export const usdcRequirements = defineCatalog([
  {
    id: 'USDC-3009-01',
    level: 'MUST',
    title: 'A valid authorization transfers exactly the authorized value',
    source: { ...EIP3009, section: 'Specification: transferWithAuthorization' },
    text: 'transferWithAuthorization with a signature by `from` inside its validity window moves exactly `value` from `from` to `to`, emits Transfer and AuthorizationUsed, and marks the nonce used.',
    profileAssumption: false,
  },
  {
    id: 'USDC-3009-02',
    level: 'MUST',
    title: 'An expired authorization is refused',
    source: { ...FIAT, section: 'EIP3009._requireValidAuthorization: "authorization is expired"' },
    text: 'The authorization is only valid while block.timestamp < validBefore; at or after validBefore it MUST be refused and move no funds.',
    profileAssumption: false,
  },
  {
    id: 'USDC-3009-03',
    level: 'MUST',
    title: 'A not-yet-valid authorization is refused',
    source: { ...FIAT, section: 'EIP3009._requireValidAuthorization: "authorization is not yet valid"' },
    text: 'The authorization is only valid once block.timestamp > validAfter; at or before validAfter it MUST be refused and move no funds.',
    profileAssumption: false,
  },
  {
    id: 'USDC-3009-04',
    level: 'MUST',
    title: 'An authorization nonce cannot be reused',
    source: { ...EIP3009, section: 'Specification: "nonce ... unique ... the authorization can only be used once"' },
    text: 'Once a (from, nonce) authorization has been used, authorizationState returns true and any further authorization with that nonce — the same one replayed or a different one — MUST be refused.',
    profileAssumption: false,
  },
  {
    id: 'USDC-3009-05',
    level: 'MUST',
    title: 'Only a signature by `from` over the exact fields is accepted',
    source: { ...FIAT, section: 'EIP3009: "invalid signature"' },
    text: 'An authorization signed by anyone other than `from`, or whose value, recipient or window differs from what was signed, or signed for another chain or token, MUST be refused.',
    profileAssumption: false,
  },
  {
    id: 'USDC-3009-06',
    level: 'MUST',
    title: 'receiveWithAuthorization only by the payee',
    source: { ...EIP3009, section: 'receiveWithAuthorization: "caller must be the payee"' },
    text: 'receiveWithAuthorization MUST be refused unless msg.sender equals `to` (front-running protection); the payee itself may submit it.',
    profileAssumption: false,
  },
  {
    id: 'USDC-3009-07',
    level: 'MUST',
    title: 'A canceled authorization cannot be used',
    source: { ...EIP3009, section: 'cancelAuthorization' },
    text: 'cancelAuthorization signed by the authorizer marks the nonce used (emits AuthorizationCanceled); the canceled authorization, and a second cancel, MUST then be refused. A cancel signed by someone else MUST be refused.',
    profileAssumption: false,
  },
  {
    id: 'USDC-3009-08',
    level: 'MUST',
    title: 'Concurrent submissions of one authorization settle once',
    source: { ...EIP3009, section: 'Rationale: unique nonces / replay protection' },
    text: 'When several relayers submit the same signed authorization at the same time, exactly one submission succeeds and the value moves exactly once.',
    profileAssumption: false,
  },
  {
    id: 'USDC-2612-01',
    level: 'MUST',
    title: 'A valid permit sets the allowance and consumes the nonce',
    source: { ...EIP2612, section: 'Specification: permit' },
    text: 'permit with a valid owner signature and deadline >= block.timestamp sets allowance[owner][spender] = value, emits Approval, and increments nonces[owner] by one; the spender can then transferFrom up to value.',
    profileAssumption: false,
  },
  {
    id: 'USDC-2612-02',
    level: 'MUST',
    title: 'An expired permit is refused',
    source: { ...EIP2612, section: 'Specification: "deadline ... MUST be ... >= the current blocktime"' },
    text: 'A permit whose deadline is before the current block timestamp MUST be refused and leave allowance and nonce unchanged.',
    profileAssumption: false,
  },
  {
    id: 'USDC-2612-03',
    level: 'MUST',
    title: 'A permit cannot be replayed',
    source: { ...EIP2612, section: 'Specification: nonces[owner] increment' },
    text: 'A permit signature is bound to nonces[owner]; submitting the same permit a second time MUST be refused.',
    profileAssumption: false,
  },
  {
    id: 'USDC-2612-04',
    level: 'MUST',
    title: "Only the owner's signature authorizes a permit",
    source: { ...EIP2612, section: 'Specification: "r, s and v is a valid secp256k1 signature from owner"' },
    text: 'A permit signed by anyone other than owner, or with a value/spender/deadline different from what was signed, MUST be refused.',
    profileAssumption: false,
  },
  {
    id: 'USDC-DOM-01',
    level: 'MUST',
    title: 'EIP-712 domain matches the declared name and version',
    source: { document: 'shared/specs/x402-erc8004.md', section: '§3 USDC on Base (domain "USD Coin"/"2" on Base, "USDC"/"2" on Base Sepolia)' },
    text: 'name(), version() and DOMAIN_SEPARATOR() agree with each other, with the chain id and the token address, and with the EIP-712 name/version the target declares (x402 clients sign with those values).',
    profileAssumption: false,
  },
]);
