/**
 * Deterministic role accounts.
 *
 * PUBLIC TEST KEYS. Every key below is derived from the mnemonic {@link ROLE_MNEMONIC}, which is
 * published in this repository on purpose: anyone can recompute the keys, so never send real funds to
 * these addresses on a real network. They exist so that fixtures, reports and replays name the same
 * accounts on every machine.
 *
 * Role `i` uses the standard Ethereum path m/44'/60'/0'/0/i (the same derivation anvil applies to
 * `--mnemonic`), so anvil also exposes them as unlocked dev accounts in `eth_accounts`.
 * `roleAccounts` is a written-out copy of that derivation (checked by accounts.test.ts).
 */
import type { Address, Hex } from 'viem';

/** BIP-39 mnemonic of the role accounts. Public, for local chains only. */
export const ROLE_MNEMONIC = 'hamster wish web repair liberty attend layer toward blush entry metal valley';

/** Role names, in derivation order (role i ↔ address index i). Append only: reordering changes keys. */
export const ROLE_NAMES = ['admin', 'operator', 'buyer1', 'buyer2', 'vendor1', 'vendor2', 'reviewer', 'provider', 'judge', 'attacker'] as const;

/** A known role name. */
export type RoleName = (typeof ROLE_NAMES)[number];

/** A funded local account playing one role in scenarios. */
export interface RoleAccount {
  role: string;
  address: Address;
  privateKey: Hex;
}

/** Native ETH given to every role account (base units, wei): 10,000 ETH. */
export const ROLE_ETH_BALANCE = 10_000n * 10n ** 18n;
/** USDC given to every role account (base units, 6 decimals): 1,000,000 USDC. */
export const ROLE_USDC_BALANCE = 1_000_000n * 10n ** 6n;

// Written out (not derived at import) because PBKDF2 + HD derivation costs ~0.5 s of start-up;
// accounts.test.ts re-derives every key from ROLE_MNEMONIC and fails if this table drifts.
/** Every role account, in derivation order. Deterministic, funded with ETH and USDC on every chain. */
export const roleAccounts: readonly RoleAccount[] = Object.freeze([
  { role: 'admin', address: '0xCdC9e56DD51Fb3F44b7b79C225d958AAe9eF54b7', privateKey: '0x83802da5a90d992efc4e3bd0829dfa599a94de90b2eeb5704271af1f1551ba42' },
  { role: 'operator', address: '0xa91F154d2DBf0e3ee9af765F9e534B3D3B3a8ADA', privateKey: '0x669eed074defd6a7ed6ca6cb7de5fcae2d59359fabc619e3d5926ced99c57071' },
  { role: 'buyer1', address: '0x13D6d54dC137b1b8cA9DA8C6f496ad81Ed5C853e', privateKey: '0x4d0c16822d7cae82131176ca09213c064fe751c22c9f491c46e703feab4a9ca2' },
  { role: 'buyer2', address: '0x03F71127E61Bbd940AaFC453F9fCd88063a70D04', privateKey: '0xc2b2a843a78db9ca23b1f497ce49d7b8bbf725239ca3588cb0ae3207ed3aee29' },
  { role: 'vendor1', address: '0xa322A9F17c9CE94f391bEBf76694AFB924237C8e', privateKey: '0xb2be56704d78804333af18180457b43856c2ea12a8ff91bd69ef650aa28a7fe7' },
  { role: 'vendor2', address: '0x8cD61D9fdB7C01D556FAf34d991b00E33C997cF7', privateKey: '0x003c5a503fca59bde508699f02d59709275239b395f5df437aec1dfce31922f5' },
  { role: 'reviewer', address: '0xCcD804824b13Da66a4CE463FD4af2bD16B3c87ab', privateKey: '0x948fcb19006eee63e27bfb56b6c36e19e475f25421001c13007dfe3fb2dde177' },
  { role: 'provider', address: '0xf65fb41861e91cD33130D0FfbcaE746aeCa3C729', privateKey: '0x333a3b698f1bf10ae09daed03368097995e7a90aa10a53783a97078c6d4d5b90' },
  { role: 'judge', address: '0xB53d30162d2b2A30200f10b42d1478E39962EA0f', privateKey: '0x3d9d2087fe4b75f8506945ed0d0984c328bcabbcb23717cb77fdcabe0c93ff71' },
  { role: 'attacker', address: '0xfc80457091c261F125DBA2631d4DCdC52BA4cEff', privateKey: '0x4bb362d72f112dafc63a326bce49c7bc7f1f6917afd02f3b2bcf95db474c2822' },
]);

/**
 * The account of one role.
 * @throws if the role is unknown (the message lists the known roles).
 */
export function roleAccount(role: string): RoleAccount {
  const found = roleAccounts.find((a) => a.role === role);
  if (!found) throw new Error(`unknown role '${role}'; known roles: ${ROLE_NAMES.join(', ')}`);
  return found;
}
