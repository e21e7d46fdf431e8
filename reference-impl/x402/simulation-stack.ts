import { Hono } from 'hono';
import { parseEventLogs } from 'viem';
import { fiatTokenV2_2Abi } from '../../harness/chain/bindings/index.ts';
import { createChainClients, tokenOf } from '../../harness/chain/index.ts';
import { fundByTransfer, type SimTask, type StackEnv, type StackMarket, type TaskPlan } from '../../harness/sim/pack.ts';
import { errorHandler, listen, notFoundHandler } from '../_shared/http.ts';
import { createPayer, pickV2, settlementOf } from './agents/payer.ts';
import { paywall } from './server/paywall.ts';
import { noAnswerPlan, paidPlan, unpaidPlan } from './simulation.ts';
import { freePort } from '../../harness/util/net.ts';

export async function startX402Market(env: StackEnv): Promise<StackMarket> {
  const chain = env.chains.find((c) => c.profile.id === 'base-sepolia');
  if (!chain) throw new Error('the x402 simulation needs the base-sepolia chain');
  const published = env.target.endpoints['x402-facilitator'];
  if (!published) throw new Error("the x402 service did not publish 'x402-facilitator'");
  const facilitatorUrl = typeof published === 'string' ? published : published.url;
  const usdc = tokenOf(chain.profile, 'usdc');
  const { publicClient } = createChainClients(chain);
  const maxTimeoutSeconds = env.profile.maxTimeoutSeconds as number;

  // What each seller delivers for a task, decided by the seller from the task's stream (set by run()).
  const decisions = new Map<string, boolean>();
  const app = new Hono();
  app.onError(errorHandler());
  app.notFound(notFoundHandler());
  env.sellers.forEach((s, i) => {
    const pay = paywall({
      facilitatorUrl,
      accepts: { price: s.price, payTo: env.key(s.account).address, network: `eip155:${chain.chainId}`, asset: usdc.address, extra: { name: usdc.name, version: usdc.version }, maxTimeoutSeconds },
      description: `simulated seller ${s.account}`,
      mimeType: 'application/json',
    });
    app.get(`/s/${i}`, pay, (c) => {
      if (s.strategy === 'failing') return c.json({ error: { code: 'internal', message: 'the simulated seller fails' } }, 500);
      const task = c.req.header('x-sim-task') ?? '';
      const good = s.strategy !== 'malicious' && decisions.get(task) === true;
      return c.json({ task, work: good ? 'good' : 'bad' });
    });
  });
  const server = await listen(app, { host: env.host });
  const absentUrl = `http://${env.host}:${await freePort(env.host)}`;
  const urlOf = new Map(env.sellers.map((s, i) => [s.account, s.strategy === 'absent' ? `${absentUrl}/s/${i}` : `${server.url}/s/${i}`]));
  const chainNow = async () => (await publicClient.getBlock({ blockTag: 'latest' })).timestamp;

  /** The settlement's USDC transfer from the buyer to the seller, read from its receipt. */
  async function settledTransfer(hash: `0x${string}`, from: string, to: string): Promise<bigint | undefined> {
    const receipt = await publicClient.getTransactionReceipt({ hash });
    if (receipt.status !== 'success') return undefined;
    const logs = parseEventLogs({ abi: fiatTokenV2_2Abi, eventName: 'Transfer', logs: receipt.logs });
    const t = logs.find((l) => l.address.toLowerCase() === usdc.address.toLowerCase() && l.args.from.toLowerCase() === from.toLowerCase() && l.args.to.toLowerCase() === to.toLowerCase());
    return t?.args.value;
  }

  return {
    fund: fundByTransfer(chain, usdc.address, env.key, 'x402'),
    async run(task: SimTask): Promise<TaskPlan> {
      const seller = env.sellers.find((s) => s.account === task.seller)!;
      // The seller's draw, made exactly where the model makes it (x402 model: one draw per delivery).
      if (seller.strategy !== 'malicious' && seller.strategy !== 'failing' && seller.strategy !== 'absent') decisions.set(task.id, task.rng.chance(task.quality));
      const at = task.serviceMs;
      const buyer = env.key(task.buyer);
      const sellerAddress = env.key(task.seller).address;
      const payer = createPayer({ privateKey: buyer.privateKey, chainId: chain.chainId, now: chainNow });
      const shape = { headers: { 'x-sim-task': task.id } };
      let challenge: Awaited<ReturnType<typeof payer.challenge>>;
      try {
        challenge = await payer.challenge(urlOf.get(task.seller)!, shape);
      } catch {
        return noAnswerPlan(maxTimeoutSeconds * 1000);
      }
      const req = pickV2(challenge, chain.chainId, usdc.address);
      if (challenge.status !== 402 || !req) throw new Error(`x402 simulation: ${task.seller} answered ${challenge.status} without an exact USDC option`);
      if (BigInt(req.amount) !== task.amount) throw new Error(`x402 simulation: ${task.seller} asks ${req.amount}, the market price is ${task.amount}`);
      const { header } = await payer.v2Header(req);
      const { res, body } = await payer.send(urlOf.get(task.seller)!, header, shape);
      decisions.delete(task.id);
      if (res.status >= 500) return unpaidPlan(at, 'handler:5xx', 'server-error');
      if (res.status !== 200) return unpaidPlan(at, `payment:${res.status}`, 'payment-refused');
      const s = settlementOf(res);
      const amount = s?.success && s.transaction ? await settledTransfer(s.transaction as `0x${string}`, buyer.address, sellerAddress) : undefined;
      if (amount === undefined) throw new Error(`x402 simulation: ${task.id} answered 200 without a settlement verifiable on chain (${JSON.stringify(s)})`);
      return paidPlan(task, at, (body as { work?: string }).work === 'good', amount);
    },
    async balances(accounts) {
      const out = new Map<string, bigint>();
      // x402 has no escrow or fee account on chain (the payment goes straight to payTo): the engine's
      // escrow:x402 / fees:x402 are left out, as the pack contract says, not read from an empty key.
      for (const a of accounts)
        if (!a.startsWith('escrow:') && !a.startsWith('fees:'))
          out.set(a, await publicClient.readContract({ address: usdc.address, abi: fiatTokenV2_2Abi, functionName: 'balanceOf', args: [env.key(a).address] }));
      return out;
    },
    stop: () => server.stop(),
  };
}
