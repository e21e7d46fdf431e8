/**
 * Kill-rate table for `usdc`: each requirement and the BrokenFiatToken bug bit that violates it
 * (contracts/src/testing/BrokenFiatToken.sol). Used by kill.test.ts; keep the bits in sync.
 */
export const USDC_KILLS: readonly { requirement: string; bug: bigint; defect: string }[] = [
  { requirement: 'USDC-3009-01', bug: 1n << 10n, defect: 'authorized transfer moves value - 1' },
  { requirement: 'USDC-3009-02', bug: 1n << 0n, defect: 'validBefore ignored (expired authorization accepted)' },
  { requirement: 'USDC-3009-02', bug: 1n << 12n, defect: 'accepts block.timestamp == validBefore (off by one; needs clock-control)' },
  { requirement: 'USDC-3009-03', bug: 1n << 1n, defect: 'validAfter ignored' },
  { requirement: 'USDC-3009-04', bug: 1n << 2n, defect: 'nonces never marked used' },
  { requirement: 'USDC-3009-05', bug: 1n << 3n, defect: 'signature not verified' },
  { requirement: 'USDC-3009-06', bug: 1n << 4n, defect: 'receiveWithAuthorization callable by anyone' },
  { requirement: 'USDC-3009-07', bug: 1n << 5n, defect: 'cancelAuthorization emits but does not burn the nonce' },
  { requirement: 'USDC-3009-08', bug: 1n << 2n, defect: 'no replay protection: concurrent submissions all settle' },
  { requirement: 'USDC-2612-01', bug: 1n << 11n, defect: 'permit approves value / 2' },
  { requirement: 'USDC-2612-02', bug: 1n << 6n, defect: 'permit deadline ignored' },
  { requirement: 'USDC-2612-03', bug: 1n << 7n, defect: 'permit nonce never increments' },
  { requirement: 'USDC-2612-04', bug: 1n << 8n, defect: 'permit signature not verified' },
  { requirement: 'USDC-DOM-01', bug: 1n << 9n, defect: 'DOMAIN_SEPARATOR built from another name' },
];
