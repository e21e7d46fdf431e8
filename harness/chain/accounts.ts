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
import { createHash, createPrivateKey, createPublicKey } from 'node:crypto';
import { schnorr, secp256k1 } from '@noble/curves/secp256k1';
import type { Address, Hex } from 'viem';
import { privateKeyToAccount, privateKeyToAddress } from 'viem/accounts';

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
 * A signed transfer of 1 wei from `role` to vendor2 at an explicit `nonce` (21,000 gas, fee cap 10
 * gwei): for tests that place a transaction in a node's pool by its nonce (a gap, a stranded one, a
 * second spend of a nonce).
 */
export function signedTransfer(chainId: number, role: string, nonce: number): Promise<Hex> {
  return privateKeyToAccount(roleAccount(role).privateKey).signTransaction({
    to: roleAccount('vendor2').address,
    value: 1n,
    nonce,
    gas: 21_000n,
    maxFeePerGas: 10_000_000_000n,
    maxPriorityFeePerGas: 1n,
    chainId,
  });
}

/**
 * The account of one role.
 * @throws if the role is unknown (the message lists the known roles).
 */
export function roleAccount(role: string): RoleAccount {
  const found = roleAccounts.find((a) => a.role === role);
  if (!found) throw new Error(`unknown role '${role}'; known roles: ${ROLE_NAMES.join(', ')}`);
  return found;
}

/** Kinds of key a role may hold: EVM (secp256k1, the default), Ed25519, Nostr (BIP-340) and a Lightning node identity. */
export type AccountKind = 'evm' | 'ed25519' | 'nostr' | 'lightning';

/** A non-EVM key of a role: 32-byte private key and its public form (hex, no 0x). */
export interface RoleKey {
  role: string;
  kind: Exclude<AccountKind, 'evm'>;
  /** 32 bytes of hex (Ed25519 seed, or secp256k1 scalar). */
  privateKey: string;
  /** Ed25519: 32-byte public key; Nostr: 32-byte x-only public key; Lightning: 33-byte compressed node id. */
  publicKey: string;
}

// PKCS#8 DER prefix of an Ed25519 private key; the 32-byte seed follows it.
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/**
 * The non-EVM keys of a role, derived as sha256("agentmarket-harness:<kind>:<mnemonic>:<role>").
 * PUBLIC TEST KEYS like the EVM ones: anyone can recompute them.
 */
export function roleKey(role: string, kind: RoleKey['kind']): RoleKey {
  const seed = createHash('sha256').update(`agentmarket-harness:${kind}:${ROLE_MNEMONIC}:${role}`).digest();
  const privateKey = seed.toString('hex');
  let publicKey: string;
  if (kind === 'ed25519') {
    const key = createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
    publicKey = Buffer.from(createPublicKey(key).export({ format: 'der', type: 'spki' }))
      .subarray(-32)
      .toString('hex');
  } else if (kind === 'nostr') {
    publicKey = Buffer.from(schnorr.getPublicKey(seed)).toString('hex');
  } else {
    publicKey = Buffer.from(secp256k1.getPublicKey(seed, true)).toString('hex');
  }
  return { role, kind, privateKey, publicKey };
}

/** Every role's Ed25519, Nostr and Lightning keys, in role order. */
export function roleKeys(): RoleKey[] {
  return ROLE_NAMES.flatMap((r) => (['ed25519', 'nostr', 'lightning'] as const).map((k) => roleKey(r, k)));
}

/**
 * The EVM key a reference service signs with (a facilitator, a relay operator...), derived from its
 * name like the role keys. Not funded by the fixtures: the service gives itself gas when it starts.
 */
export function serviceAccount(name: string): RoleAccount {
  const privateKey = `0x${createHash('sha256').update(`agentmarket-harness:service:${ROLE_MNEMONIC}:${name}`).digest('hex')}` as Hex;
  return { role: `service:${name}`, address: privateKeyToAddress(privateKey), privateKey };
}

/**
 * A throwaway key for a role the target declares no account for, when the role only signs or
 * receives (holds no funds): deterministic, so reports and replays name the same address.
 */
export function throwawayAccount(role: string): RoleAccount {
  const privateKey = `0x${createHash('sha256').update(`agentmarket-harness:throwaway:${role}`).digest('hex')}` as Hex;
  return { role, address: privateKeyToAddress(privateKey), privateKey };
}
