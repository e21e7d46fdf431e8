/** Agent routes: listing, registration (REST and with an API key), wallet change, stats, card. */
import { randomBytes } from 'node:crypto';
import type { Hono } from 'hono';
import { getAddress, type Hex } from 'viem';
import { z } from 'zod';
import { HttpError, jsonBody, parseWith } from '../../../_shared/http.ts';
import { agentUriDataSchema, sellableAgentUriDataSchema, type AgentUriData } from '../../protocol/agenturi.ts';
import { registerWithKeyMessage, verifyPersonalSign, withinWindow } from '../../protocol/auth.ts';
import { hashApiKey } from '../auth.ts';
import { addr } from '../config.ts';
import type { AgentripeContext } from '../context.ts';
import { agentDataUri, agentIdOut, agentInfo, agentInfoFrom, parseAgentId, registryUnreadable, withEndpoint } from './common.ts';

const deadline = z.union([z.number().int().nonnegative(), z.string().regex(/^\d{1,20}$/)]);
const signature = z.string().regex(/^0x[0-9a-fA-F]+$/);

const walletField = z.object({ address: addr, deadline, signature }).optional();
const registerWithKeyFields = {
  walletAddress: addr,
  walletSignature: signature,
  timestamp: z.union([z.number().int().nonnegative(), z.string().regex(/^\d{1,12}$/)]),
};
const body = {
  register: z.object({ data: sellableAgentUriDataSchema, wallet: walletField }),
  registerWithKey: z.object({ ...registerWithKeyFields, data: sellableAgentUriDataSchema }),
  wallet: z.object({ walletAddress: addr, deadline, signature }),
};
// Test-only faults: the same bodies with $0 prices allowed, or with no validation of the card at all.
const faulty = {
  register: z.object({ data: agentUriDataSchema, wallet: walletField }),
  registerWithKey: z.object({ ...registerWithKeyFields, data: agentUriDataSchema }),
  unvalidated: z.object({ data: z.looseObject({ services: z.array(z.looseObject({})).default([]) }), wallet: walletField }),
};

export function agentRoutes(app: Hono, ctx: AgentripeContext): void {
  const { chain, db, cfg, faults } = ctx;

  /** Mints an agent with `uri` as the registrar; a failed transaction is a 502. */
  const registerAgent = (uri: string) =>
    chain.registerAgent(uri).catch((e) => {
      throw new HttpError(502, 'Agent registration transaction failed', { detail: (e as Error).message.split('\n')[0] });
    });

  app.get('/agents', async (c) => {
    const ids = await chain.registeredAgentIds();
    const onChain = await chain.agentsOnChain(ids);
    // Agent URIs are arbitrary URLs from chain data (anyone can register): resolve them 16 at a
    // time under one 3 s deadline, and list the ones that did not answer with `data: null`.
    const deadlineAt = Date.now() + 3000;
    const infos = new Array<Awaited<ReturnType<typeof agentInfoFrom>>>(ids.length);
    let next = 0;
    const worker = async () => {
      while (next < ids.length) {
        const i = next++;
        infos[i] = await agentInfoFrom(ids[i]!, onChain[i]!, Math.min(5000, deadlineAt - Date.now()));
      }
    };
    await Promise.all(Array.from({ length: Math.min(16, ids.length) }, worker));
    return c.json({ agents: infos.filter((a) => a !== null) });
  });

  app.get('/agents/next-id', async (c) => {
    const ids = await chain.registeredAgentIds();
    const next = ids.length ? ids[ids.length - 1]! + (faults.nextIdOffByOne ? 0n : 1n) : 0n;
    // `owner` is who will own the minted agent: the EIP-712 AgentWalletSet signature must name it.
    return c.json({ nextAgentId: agentIdOut(next), owner: chain.registrar.address });
  });

  app.post('/agents/register', async (c) => {
    const schema = faults.registerNoValidation ? faulty.unvalidated : faults.zeroPriceRegister ? faulty.register : body.register;
    const b = parseWith(schema, await jsonBody(c)) as z.infer<typeof body.register>;
    const data = faults.registerKeepsEndpoint ? b.data : withEndpoint(ctx, b.data as AgentUriData);
    const { agentId, transactionHash } = await registerAgent(agentDataUri(data));
    let walletSet = false;
    let walletError: string | undefined;
    if (b.wallet) {
      try {
        await chain.setAgentWallet(agentId, getAddress(b.wallet.address), BigInt(b.wallet.deadline), b.wallet.signature as Hex);
        walletSet = true;
        // The wallet proved control (EIP-712): approve it on the NFT so it can pass EVM vendor auth
        // (isAuthorizedOrOwner) while the server keeps ownership for PUT /vendor/agent-uri.
        await chain.approveAgent(agentId, getAddress(b.wallet.address));
      } catch (e) {
        walletError = (e as Error).message.split('\n')[0];
      }
    }
    return c.json({ agentId: agentIdOut(agentId), transactionHash, walletSet, ...(walletError ? { walletError } : {}) }, 201);
  });

  app.post('/agents/register-with-key', async (c) => {
    const b = parseWith(faults.zeroPriceRegister ? faulty.registerWithKey : body.registerWithKey, await jsonBody(c));
    // The key is a row anchored to the registration block: sweep what a revert took away first.
    const reverted = ctx.revertChecked();
    const ts = Number(b.timestamp);
    if (!withinWindow(ts, ctx.now(), cfg.authWindowSeconds)) throw new HttpError(401, 'Timestamp outside the allowed window (±5 minutes)');
    if (!(await verifyPersonalSign(b.walletAddress, registerWithKeyMessage(b.walletAddress, String(b.timestamp)), b.walletSignature))) {
      throw new HttpError(401, 'Invalid wallet signature');
    }
    const wallet = getAddress(b.walletAddress);
    const data = withEndpoint(ctx, b.data);
    const { agentId, transactionHash } = await registerAgent(agentDataUri(data));
    // The wallet proved control, so it becomes the owner: payouts go to the owner while no
    // agentWallet is set (escrow rule), and EVM vendor auth works for it too.
    if (wallet.toLowerCase() !== chain.registrar.address.toLowerCase()) await chain.transferAgent(agentId, wallet);
    const apiKey = `ak_${randomBytes(24).toString('hex')}`;
    const [mined] = await Promise.all([chain.anchorOf(transactionHash), reverted]);
    // Fault apiKeyOutlivesRevert: the key is stored without its block, so no revert ever removes it.
    const anchor = faults.apiKeyOutlivesRevert ? undefined : mined;
    ctx.revert.note(anchor);
    db.setApiKey(agentId.toString(), hashApiKey(apiKey), ctx.iso(), anchor);
    return c.json({ agentId: agentIdOut(agentId), apiKey, transactionHash }, 201);
  });

  app.post('/agents/:id/wallet', async (c) => {
    const agentId = parseAgentId(c.req.param('id'), faults.agentIdNoDigitCheck);
    const b = parseWith(body.wallet, await jsonBody(c));
    if (!(await chain.ownerOf(agentId).catch(registryUnreadable))) throw new HttpError(404, 'Agent not found');
    if (!(await chain.isAuthorizedOrOwner(chain.registrar.address, agentId).catch(registryUnreadable))) {
      throw new HttpError(403, 'This server does not own this agent; call setAgentWallet on the IdentityRegistry directly');
    }
    const walletAddress = getAddress(b.walletAddress);
    const transactionHash = await chain.setAgentWallet(agentId, walletAddress, BigInt(b.deadline), b.signature as Hex).catch((e) => {
      if (faults.walletChangeAlwaysOk) return `0x${'00'.repeat(32)}` as Hex;
      throw new HttpError(400, 'setAgentWallet was rejected by the IdentityRegistry', { detail: (e as Error).message.split('\n')[0] });
    });
    return c.json({ agentId: agentIdOut(agentId), walletAddress, transactionHash });
  });

  app.get('/agents/:id/stats', async (c) => {
    const agentId = parseAgentId(c.req.param('id'), faults.agentIdNoDigitCheck);
    if (!(await chain.ownerOf(agentId).catch(registryUnreadable)) && !faults.statsUnknownAgent) throw new HttpError(404, 'Agent not found');
    const s = db.agentStats(agentId.toString());
    if (faults.statsSkipFailed) {
      s.byStatus.failed = 0;
      s.refunded = 0n;
    }
    const rep = await chain.feedbackSummary(agentId);
    const total = Object.values(s.byStatus).reduce((a, b) => a + b, 0);
    return c.json({
      agentId: agentIdOut(agentId),
      totalTasks: total,
      pendingTasks: s.byStatus.pending ?? 0,
      processingTasks: s.byStatus.processing ?? 0,
      rejectedTasks: s.byStatus.rejected ?? 0,
      completedTasks: s.byStatus.completed ?? 0,
      failedTasks: s.byStatus.failed ?? 0,
      reviewRejections: s.rejections,
      releasedAmount: s.released.toString(),
      refundedAmount: s.refunded.toString(),
      reputation: rep ? { count: Number(rep.count), summaryValue: rep.summaryValue.toString(), valueDecimals: rep.decimals } : null,
    });
  });

  app.get('/agents/:id', async (c) => {
    const info = await agentInfo(ctx, parseAgentId(c.req.param('id'), faults.agentIdNoDigitCheck)).catch((e: Error) => (faults.outageAsDenial ? null : registryUnreadable(e)));
    if (!info) throw new HttpError(404, 'Agent not found');
    if (!info.data) throw new HttpError(404, 'Agent has no valid AgentURIData', { detail: info.dataError });
    return c.json(info.data);
  });
}
