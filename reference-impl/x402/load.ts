/**
 * x402 under load (`amh load --protocol x402`): every agent is the scripted payer (agents/payer.ts)
 * with a key of its own, funded with USDC by the target's funder role. One iteration is one paid
 * request to the target's `x402-resource`: the unpaid request and its 402, an EIP-3009 payment
 * signed for the `exact` USDC option, the paid request, and a settlement header reporting success
 * with a transaction hash.
 *
 * Conservation: the agents and the resource's payTo hold together what they held before; the agents
 * spent, and payTo gained, exactly what the agents saw settled; the chain holds one USDC Transfer
 * from an agent to payTo (and one AuthorizationUsed) per success the agents saw, each reported
 * transaction hash is one of those transfers, and no hash was reported twice.
 */
import { parseAbiItem, type Address, type Hex } from 'viem';
import { addressSet, authorizationFunds, balancesOf, blockNumber, chainClients, eventLogs, fundAgents } from '../../harness/load/chain.ts';
import { defineLoad, equalCheck, expectStatus, LoadFailure, ledgerSum, sendPayment, unlessOutOfFunds, type LoadEnv } from '../../harness/load/pack.ts';
import { chainToken, endpointOf, TargetError } from '../../harness/target/schema.ts';
import { createPayer, pickV2, requestChallenge, settlementOf, type RequestShape } from './agents/payer.ts';

const transferEvent = parseAbiItem('event Transfer(address indexed from, address indexed to, uint256 value)');
const authorizationUsedEvent = parseAbiItem('event AuthorizationUsed(address indexed authorizer, bytes32 indexed nonce)');

/** Each agent gets this many payments' worth per planned second (far above what one agent can pay on loopback). */
const PAYMENTS_PER_SECOND_FUNDED = 200n;

async function setup(env: LoadEnv) {
  const endpoint = endpointOf(env.target, 'x402-resource')!;
  const shape: RequestShape = { method: endpoint.method ?? 'GET', body: endpoint.body, headers: endpoint.headers };
  // The price, payTo and token come from the resource's own challenge, on whichever target chain it names.
  const first = await requestChallenge(env.fetch, endpoint.url, shape);
  const options = env.target.chains.flatMap((c) => {
    const usdc = chainToken(c, 'usdc');
    const req = usdc ? pickV2(first, c.chainId, usdc.address as Address) : undefined;
    return req ? [{ chain: c, req }] : [];
  });
  if (first.status !== 402 || !options.length)
    throw new TargetError(
      `x402-resource ${endpoint.url}: the unpaid request got ${first.status} without a v2 exact USDC option on a chain the target declares${first.v2Error ? ` (${first.v2Error})` : ''}`,
    );
  const { chain, req } = options[0]!;
  const usdc = req.asset as Address;
  const payTo = req.payTo as Address;
  const price = BigInt(req.amount);
  const c = chainClients(env.target, chain.chainId);
  const agents = Array.from({ length: env.agents }, (_, i) => env.key(i, 'payer'));
  const addresses = agents.map((a) => a.address);
  const each = await fundAgents(c, usdc, addresses, price * PAYMENTS_PER_SECOND_FUNDED * BigInt(env.seconds), price, env.log);
  // Validity windows follow chain time; read once, then kept by the host clock (a read per payment would load the chain).
  const chainNow = (await c.public.getBlock({ blockTag: 'latest' })).timestamp;
  const offset = chainNow - BigInt(Math.floor(Date.now() / 1000));
  const now = async () => BigInt(Math.floor(Date.now() / 1000)) + offset;
  const fromBlock = (await blockNumber(c)) + 1n;
  const agentsBefore = await balancesOf(c, usdc, addresses);
  const [payToBefore] = await balancesOf(c, usdc, [payTo]);

  return {
    describe: `${env.agents} payers funded with ${each} base units each; price ${price}, payTo ${payTo}, chain ${chain.chainId}`,
    async iterate(agent: number, ctx: { fetch: typeof fetch; ledger: (kind: string, amount: bigint, ref: string) => void }) {
      const ch = await requestChallenge(ctx.fetch, endpoint.url, shape);
      expectStatus(ch.status, 402, 'unpaid request', ch.body);
      const option = pickV2(ch, chain.chainId, usdc);
      if (!option) throw new LoadFailure('no-exact-option', `the 402 offers no v2 exact option in ${usdc}${ch.v2Error ? ` (${ch.v2Error})` : ''}`);
      const payer = createPayer({ privateKey: agents[agent]!.privateKey, chainId: chain.chainId, now, fetchImpl: ctx.fetch });
      const amount = BigInt(option.amount);
      const { header, payload } = await payer.v2Header(option);
      const nonce = (payload.payload as { authorization: { nonce: Hex } }).authorization.nonce;
      const { res } = await unlessOutOfFunds(authorizationFunds(c, usdc, addresses[agent]!, nonce, amount, 'paid request'), async () => {
        const paid = await sendPayment(() => payer.send(endpoint.url, header, shape));
        expectStatus(paid.res.status, 200, 'paid request', paid.body);
        return paid;
      });
      const s = settlementOf(res);
      if (!s) throw new LoadFailure('no-settlement-header', 'a paid 200 without PAYMENT-RESPONSE');
      if (s.success !== true) throw new LoadFailure('settlement-failed', `PAYMENT-RESPONSE reports ${JSON.stringify(s)}`);
      if (!s.transaction) throw new LoadFailure('no-settlement-transaction', 'PAYMENT-RESPONSE reports success without a transaction');
      ctx.ledger('paid', amount, s.transaction.toLowerCase());
    },
    async conservation(ledger: readonly { agent: number; kind: string; amount: bigint; ref: string }[]) {
      const toBlock = await blockNumber(c);
      const agentsAfter = await balancesOf(c, usdc, addresses);
      const [payToAfter] = await balancesOf(c, usdc, [payTo]);
      const ours = addressSet(addresses);
      const transfers = (await eventLogs(c, usdc, transferEvent, fromBlock, toBlock, { to: payTo })).filter((l) => ours.has(l.args.from.toLowerCase()));
      const authorizations = (await eventLogs(c, usdc, authorizationUsedEvent, fromBlock, toBlock)).filter((l) => ours.has(l.args.authorizer.toLowerCase()));
      const sum = (xs: readonly bigint[]) => xs.reduce((a, b) => a + b, 0n);
      const paid = ledgerSum(ledger, 'paid');
      const paidEntries = ledger.filter((e) => e.kind === 'paid');
      const refs = new Set(paidEntries.map((e) => e.ref));
      const onChainTx = new Set(transfers.map((t) => t.transactionHash.toLowerCase()));
      const agentsMismatched = agents.filter((_, i) => agentsBefore[i]! - agentsAfter[i]! !== ledgerSum(ledger, 'paid', i)).length;
      return {
        holdings: [
          { name: `agents (${env.agents})`, before: sum(agentsBefore), after: sum(agentsAfter) },
          { name: `payTo ${payTo}`, before: payToBefore!, after: payToAfter! },
        ],
        checks: [
          equalCheck('agents + payTo hold what they held before', sum(agentsBefore) + payToBefore!, sum(agentsAfter) + payToAfter!, 'money created or lost'),
          equalCheck("agents' spend = settled payments the agents saw", paid, sum(agentsBefore) - sum(agentsAfter), 'paid without a success seen (lost) or served without paying'),
          equalCheck("payTo's gain = settled payments the agents saw", paid, payToAfter! - payToBefore!),
          equalCheck('agents whose spend differs from their own ledger', 0, agentsMismatched),
          equalCheck(
            'USDC transfers agent → payTo on chain = successes seen',
            paidEntries.length,
            transfers.length,
            'more on chain: settled without a success (or twice); fewer: success reported without a settlement',
          ),
          equalCheck('authorizations used on chain = successes seen', paidEntries.length, authorizations.length),
          equalCheck('distinct settlement transactions reported = successes seen', paidEntries.length, refs.size, 'one transaction reported for two payments'),
          equalCheck('reported settlement transactions not found on chain', 0, [...refs].filter((r) => !onChainTx.has(r)).length),
        ],
      };
    },
  };
}

export default defineLoad({
  protocol: 'x402',
  iteration: 'one paid request to x402-resource: 402 challenge, EIP-3009 payment (v2 exact, USDC), paid request answered 200 with a successful settlement',
  endpoints: ['x402-resource'],
  setup,
});
