/**
 * Smart-wallet payers (spec notes §1.9 item 2: "Smart-wallet signatures rejected" is the second
 * most common complaint). The payer is a deployed ERC-1271 contract wallet whose signatures are in
 * its own format, longer than an EOA's 65 bytes, as smart wallets' are (Coinbase Smart Wallet wraps
 * the owner's signature with the owner's index): here a 32-byte key word, then the owner's 65-byte
 * ECDSA signature over the EIP-712 digest. The token checks such a signature through the wallet's
 * `isValidSignature`, called by the `transferWithAuthorization(…, bytes signature)` overload; only a
 * 65-byte signature is split into v, r, s (settle step 3).
 *
 * Needs `set-code`: the harness places the wallet on the target's chain (anvil_setCode) at a fresh
 * address each run and funds it with one payment.
 */
import fc from 'fast-check';
import { concat, pad, toHex, type Address, type Hex } from 'viem';
import { defineScenario } from '../../harness/engine/dsl.ts';
import { Indeterminate } from '../../harness/engine/errors.ts';
import { encodeHeader } from '../../reference-impl/x402/protocol/wire.ts';
import { settlementOf } from './client.ts';
import { BASE, BUYERS, expectPaid, fund, expectRefusedPayment, expectSettledOnChain, expectUnchanged, holdings, networkOf, offer, send, shown, sign, versions, type Signed } from './lab.ts';

/**
 * Runtime code of this wallet (solc 0.8.30, the repository's foundry.toml settings); its owner is
 * storage slot 0:
 *
 * ```solidity
 * contract WrappedSignatureWallet {
 *     address public owner;
 *     function isValidSignature(bytes32 digest, bytes calldata signature) external view returns (bytes4) {
 *         if (signature.length != 97 || owner == address(0)) return 0xffffffff;
 *         bytes32 r = bytes32(signature[32:64]);
 *         bytes32 s = bytes32(signature[64:96]);
 *         uint8 v = uint8(signature[96]);
 *         return ecrecover(digest, v, r, s) == owner ? bytes4(0x1626ba7e) : bytes4(0xffffffff);
 *     }
 * }
 * ```
 */
export const WRAPPED_SIGNATURE_WALLET_RUNTIME: Hex =
  '0x608060405234801561000f575f5ffd5b5060043610610034575f3560e01c80631626ba7e146100385780638da5cb5b14610069575b5f5ffd5b61004b6100463660046101a8565b610093565b6040516001600160e01b031990911681526020015b60405180910390f35b5f5461007b906001600160a01b031681565b6040516001600160a01b039091168152602001610060565b5f6061821415806100ac57505f546001600160a01b0316155b156100c057506001600160e01b03196101a1565b5f6100cf60406020858761021f565b6100d891610246565b90505f6100e960606040868861021f565b6100f291610246565b90505f8585606081811061010857610108610264565b5f805460408051928352602083018082528d9052949092013560f81c93810184905260608101879052608081018690529293506001600160a01b0316916001915060a0016020604051602081039080840390855afa15801561016c573d5f5f3e3d5ffd5b505050602060405103516001600160a01b031614610192576001600160e01b031961019b565b630b135d3f60e11b5b93505050505b9392505050565b5f5f5f604084860312156101ba575f5ffd5b83359250602084013567ffffffffffffffff8111156101d7575f5ffd5b8401601f810186136101e7575f5ffd5b803567ffffffffffffffff8111156101fd575f5ffd5b86602082840101111561020e575f5ffd5b939660209190910195509293505050565b5f5f8585111561022d575f5ffd5b83861115610239575f5ffd5b5050820193919092039150565b8035602083101561025e575f19602084900360031b1b165b92915050565b634e487b7160e01b5f52603260045260245ffd';

/** The wallet's signature: a 32-byte key word (the owner's index, 0), then the owner's 65-byte signature. */
const wrap = (ownerSignature: Hex): Hex => concat([pad('0x00', { size: 32 }), ownerSignature]);

/** The signed payment with its signature replaced by `signature` (the header encoded again). */
function withSignature(p: Signed, signature: Hex): Signed {
  const payload = structuredClone(p.payload) as { payload: { signature: Hex } } & Record<string, unknown>;
  payload.payload.signature = signature;
  return { ...p, payload, header: encodeHeader(payload) };
}

export const smartWalletPayer = defineScenario({
  kind: 'property',
  id: 'smart-wallet-payer',
  title: 'A deployed ERC-1271 smart wallet pays with its own (97-byte) signature: served and settled from the wallet, or refused with nothing moved; the same payment signed by another key is refused',
  requirements: ['X402-SW-01', 'X402-NEG-10', 'X402-PAY-02'],
  ...BASE,
  capabilities: ['set-code'],
  arbitrary: () =>
    fc.record({
      owner: fc.constantFrom(...BUYERS),
      // A fresh wallet address per run, away from precompiles and the chain's own contracts.
      at: fc.uint8Array({ minLength: 20, maxLength: 20 }).map((b) => toHex(b.map((x, i) => (i === 0 ? (x % 0xe0) + 0x10 : x))) as Address),
    }),
  async run(ctx, v) {
    const o = await offer(ctx);
    const owner = o.s.address(v.owner);
    const wallet = v.at;
    // An address this scenario used before (a shrink runs a failing case again) holds this wallet already.
    const code = (await o.s.public.getCode({ address: wallet })) ?? '0x';
    if (code !== '0x' && code.toLowerCase() !== WRAPPED_SIGNATURE_WALLET_RUNTIME) throw new Indeterminate('X402-SW-01', `the drawn wallet address ${wallet} holds other code`);
    ctx.act(`the harness places a smart-contract wallet (ERC-1271, 97-byte signatures) owned by ${v.owner} at ${wallet}`);
    await o.s.test.setCode({ address: wallet, bytecode: WRAPPED_SIGNATURE_WALLET_RUNTIME });
    await o.s.test.setStorageAt({ address: wallet, index: 0, value: pad(owner, { size: 32 }) });
    for (const version of versions(o)) {
      const amount = BigInt(version === 2 ? o.req.amount : o.v1!.maxAmountRequired);
      await fund(ctx, 'X402-SW-01', o, v.owner, wallet, amount, 'the smart wallet (one payment)');
      const now = await o.s.pendingTime();
      // Both signed over the same authorization shape, from the wallet; the forged one by the attacker's key.
      const honest = await sign(ctx, o, v.owner, version, { auth: { from: wallet } }, now);
      const forgedBase = await sign(ctx, o, 'attacker', version, { auth: { from: wallet } }, now);
      const signature = (p: Signed) => (p.payload.payload as { signature: Hex }).signature;
      const good = withSignature(honest, wrap(signature(honest)));
      const forged = withSignature(forgedBase, wrap(signature(forgedBase)));

      const snap = await holdings(ctx, o, wallet);
      ctx.act(`a v${version} payment from the wallet signed by another key (the attacker's, wrapped as the wallet wraps)`);
      const refused = await send(ctx, o, forged.header, { version });
      expectRefusedPayment(ctx, 'X402-NEG-10', refused, `v${version} smart-wallet payment signed by another key`);
      await expectUnchanged(ctx, 'X402-NEG-10', o, snap, forged.auth, `v${version} smart-wallet payment signed by another key`);

      ctx.act(`the wallet pays ${amount} (v${version}) with its own 97-byte signature (the owner's, wrapped)`);
      const r = await send(ctx, o, good.header, { version });
      ctx.check('X402-PAY-02', r.res.status < 500, 'a smart-wallet payment is answered (not a 5xx)', { expected: '2xx, or a 4xx refusal', actual: shown(r) });
      const served = r.res.status >= 200 && r.res.status < 300;
      ctx.check('X402-SW-01', served, `a valid v${version} payment from a deployed ERC-1271 wallet is served`, { expected: '2xx', actual: shown(r) });
      if (served) {
        await expectSettledOnChain(ctx, 'X402-SW-01', o, settlementOf(r.res), { payer: wallet, amount, nonce: good.auth.nonce as Hex, network: networkOf(o, version), version });
        await expectPaid(ctx, 'X402-SW-01', o, snap, amount, `v${version} smart-wallet payment`);
      } else {
        // Not supporting smart wallets is a SHOULD; a refusal must still be clean.
        expectRefusedPayment(ctx, 'X402-PAY-02', r, `v${version} smart-wallet payment (refused)`);
        await expectUnchanged(ctx, 'X402-PAY-02', o, snap, good.auth, `a refused v${version} smart-wallet payment`);
      }
    }
  },
});
