/**
 * AISP scenarios against the Venice-compatible inference server the providers' keys live on
 * (specs/protocols.md A.3): completions, per-key DIEM limits per epoch and their reset at 00:00 UTC
 * of the lab clock, expiry and revocation, the admin routes, and the provider's account paying for
 * what its scoped keys spend. Keys are issued with the ADMIN keys of `config.aisp.adminKeys`.
 */
import fc from 'fast-check';
import { defineScenario } from '../../harness/engine/dsl.ts';
import { Indeterminate } from '../../harness/engine/errors.ts';
import type { Capability } from '../../harness/target/schema.ts';
import { ask } from '../../reference-impl/aisp/agents/venice.ts';
import { AISP_PROFILE } from '../../reference-impl/aisp/protocol/profile.ts';
import { chatAnswer, listKeysAnswer, rateLimitsAnswer } from '../../reference-impl/aisp/protocol/wire.ts';
import { ADMIN_KEYS, adminKey, aisp, AISP_NEEDS, costOf, fp, is4xx, issueKey, mine, model, spendable, type Aisp } from './lab.ts';

const BASE = {
  needs: AISP_NEEDS,
  endpoints: ['aisp-inference'],
  roles: ['provider', 'vendor1'],
  capabilities: [ADMIN_KEYS] as Capability[],
  isolation: 'live' as const,
};
const open = (ctx: Parameters<typeof aisp>[0]) => aisp(ctx, { inference: true });
const EPOCH = AISP_PROFILE.epochSeconds;

/** Calls until the key is refused (at most `max` calls); the answers with the balance before each. */
async function exhaust(a: Aisp, key: string, m: string, prompt: string, max = 40): Promise<{ ok: number; refusal?: { status: number; before?: bigint; after?: bigint; body: unknown } }> {
  let ok = 0;
  for (let i = 0; i < max; i++) {
    const before = (await spendable(a, key)).units;
    const r = await a.venice.chat(key, ask(m, prompt));
    if (r.status === 200) {
      ok++;
      continue;
    }
    return { ok, refusal: { status: r.status, before, after: (await spendable(a, key)).units, body: r.body } };
  }
  return { ok };
}

// ---------------------------------------------------------------------------------------------

export const inferenceChat = defineScenario({
  kind: 'property',
  id: 'inference-chat',
  title: 'chat/completions: an OpenAI-compatible answer to a valid key (the same text twice), 401 without or with an unknown key, uncharged',
  requirements: ['AISP-INF-01'],
  ...BASE,
  arbitrary: () => fc.record({ prompt: fc.string({ minLength: 1, maxLength: 200 }), role: fc.constantFrom('provider', 'vendor1') }),
  async run(ctx, v) {
    const a = await open(ctx);
    const m = await model(a);
    const key = await issueKey(a, v.role);
    ctx.act(`the key asks ${m} the same question twice`);
    const r1 = await a.venice.chat(key.apiKey, ask(m, v.prompt));
    const r2 = await a.venice.chat(key.apiKey, ask(m, v.prompt));
    const p1 = chatAnswer.safeParse(r1.body);
    const p2 = chatAnswer.safeParse(r2.body);
    ctx.check('AISP-INF-01', r1.status === 200 && p1.success, 'a valid key gets 200 with an OpenAI chat.completion', {
      expected: '200 chat.completion',
      actual: `${r1.status} ${p1.success ? 'chat.completion' : `${p1.error.issues[0]?.path.join('.')}: ${p1.error.issues[0]?.message}`}`,
    });
    if (p1.success) {
      const u = p1.data.usage;
      ctx.check('AISP-INF-01', u.total_tokens === u.prompt_tokens + u.completion_tokens && u.completion_tokens > 0, 'usage adds up', {
        expected: 'total = prompt + completion',
        actual: JSON.stringify(u),
      });
    }
    ctx.check(
      'AISP-INF-01',
      p1.success && p2.success && p1.data.choices[0]!.message.content === p2.data.choices[0]!.message.content,
      'the same request gets the same answer (deterministic lab model)',
      {
        expected: 'equal texts',
        actual: p1.success && p2.success ? `${p1.data.choices[0]!.message.content.slice(0, 60)} | ${p2.data.choices[0]!.message.content.slice(0, 60)}` : 'no answer',
      },
    );
    ctx.act('someone lists the models');
    const models = await a.venice.models();
    const listed = models.body as { object?: unknown; data?: { id?: unknown; object?: unknown }[] } | null;
    // OpenAI's list shape; `object` is checked where the server gives it.
    const shaped =
      models.status === 200 &&
      Array.isArray(listed?.data) &&
      listed.data.length > 0 &&
      listed.data.every((x) => typeof x?.id === 'string' && (x.object === undefined || x.object === 'model')) &&
      (listed.object === undefined || listed.object === 'list');
    ctx.check('AISP-INF-01', shaped, 'GET /models answers OpenAI’s list: {object: "list", data: [{id, object: "model"}]}', {
      expected: '{object: "list", data: [{id, object: "model"}, …]}',
      actual: `${models.status} ${a.show(models.body, 200)}`,
    });
    const b0 = (await spendable(a, key.apiKey)).units;
    ctx.act('someone calls without a key, and with an unknown key');
    const none = await a.fetch(`${ctx.endpoint('aisp-inference').url.replace(/\/+$/, '')}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(ask(m, v.prompt)),
    });
    ctx.expectEqual('AISP-INF-01', none.status, 401, 'no Authorization → 401');
    const unknown = await a.venice.chat(`vn-scoped-${'e'.repeat(40)}${Date.now()}`, ask(m, v.prompt));
    ctx.expectEqual('AISP-INF-01', unknown.status, 401, 'an unknown key → 401');
    const b1 = (await spendable(a, key.apiKey)).units;
    ctx.check('AISP-INF-01', b0 !== undefined && b0 === b1, 'refused calls charge nothing', { expected: b0, actual: b1 });
  },
});

// ---------------------------------------------------------------------------------------------

export const spendLimit = defineScenario({
  kind: 'property',
  id: 'spend-limit',
  title: 'A key with a DIEM limit spends at most the limit per epoch, then gets 402 and is not charged; the provider’s account pays exactly what its key spent',
  requirements: ['AISP-INF-02', 'AISP-INF-06'],
  ...BASE,
  arbitrary: () => fc.record({ calls: fc.integer({ min: 0, max: 3 }), extra: fc.double({ min: 0, max: 0.99, noNaN: true }), role: fc.constantFrom('provider', 'vendor1') }),
  async run(ctx, v) {
    const a = await open(ctx);
    const m = await model(a);
    const prompt = 'Summarise the AISP protocol in one line.';
    const cost = await costOf(a, m, prompt);
    const limit = cost * BigInt(v.calls) + BigInt(Math.floor(v.extra * Number(cost)));
    if (limit === 0n) return void (await exhaustZero(a, m, prompt, v.role));
    const key = await issueKey(a, v.role, { limitDiem: limit });
    const account0 = (await spendable(a, adminKey(a, v.role))).units;
    const k0 = (await spendable(a, key.apiKey)).units;
    ctx.check('AISP-INF-02', k0 === limit, 'a fresh key can spend exactly its limit', { expected: limit, actual: k0 });
    ctx.act(`the key (limit ${limit} DIEM units, a call costs ${cost}) calls until refused`);
    const run = await exhaust(a, key.apiKey, m, prompt);
    const k1 = (await spendable(a, key.apiKey)).units;
    const spent = k0 !== undefined && k1 !== undefined ? k0 - k1 : undefined;
    ctx.check('AISP-INF-02', spent !== undefined && spent <= limit, 'what the key spent within the epoch never exceeds its limit', { expected: `<= ${limit}`, actual: spent });
    ctx.check('AISP-INF-02', run.refusal?.status === 402, 'once the key cannot pay for a call it gets 402', {
      expected: 402,
      actual: run.refusal ? `${run.refusal.status} ${a.show(run.refusal.body, 200)}` : `${run.ok} calls, never refused`,
    });
    ctx.check('AISP-INF-02', run.refusal !== undefined && run.refusal.before === run.refusal.after, 'the refused call charged nothing', { expected: run.refusal?.before, actual: run.refusal?.after });
    ctx.check('AISP-INF-02', run.ok === v.calls, `exactly ${v.calls} calls of ${cost} fit in a limit of ${limit}`, { expected: v.calls, actual: run.ok });
    const account1 = (await spendable(a, adminKey(a, v.role))).units;
    ctx.check('AISP-INF-06', account0 !== undefined && account1 !== undefined && spent !== undefined && account0 - account1 === spent, `${v.role}'s account paid exactly what its key spent`, {
      expected: spent,
      actual: account0 !== undefined && account1 !== undefined ? account0 - account1 : 'no balance',
    });
  },
});

/** A limit below one call: the very first call is refused and charges nothing. */
async function exhaustZero(a: Aisp, m: string, prompt: string, role: string): Promise<void> {
  const key = await issueKey(a, role, { limitDiem: 1n });
  const run = await exhaust(a, key.apiKey, m, prompt, 2);
  a.ctx.check('AISP-INF-02', run.ok === 0 && run.refusal?.status === 402 && run.refusal.before === run.refusal.after, 'a key whose limit is below one call is refused (402) and not charged', {
    expected: '402, no charge',
    actual: run.refusal ? `${run.refusal.status}, ${run.refusal.before} → ${run.refusal.after}` : `${run.ok} calls`,
  });
}

// ---------------------------------------------------------------------------------------------

export const epochReset = defineScenario({
  kind: 'property',
  id: 'epoch-reset',
  title: 'An exhausted key can spend its whole limit again after 00:00 UTC of the lab clock (rate_limits.nextEpochBegins)',
  requirements: ['AISP-INF-03'],
  ...BASE,
  capabilities: [ADMIN_KEYS, 'clock-control'] as Capability[],
  arbitrary: () => fc.record({ calls: fc.integer({ min: 1, max: 2 }), role: fc.constantFrom('provider', 'vendor1') }),
  async run(ctx, v) {
    const a = await open(ctx);
    const m = await model(a);
    const prompt = 'One more line, please.';
    // Far enough from midnight that the whole exhaustion happens in one epoch.
    const now0 = await a.now();
    if (EPOCH - (now0 % EPOCH) < 600) {
      await a.s.test.setNextBlockTimestamp({ timestamp: BigInt(now0 - (now0 % EPOCH) + EPOCH + 60) });
      await mine(a, 1);
    }
    const cost = await costOf(a, m, prompt);
    const limit = cost * BigInt(v.calls);
    const key = await issueKey(a, v.role, { limitDiem: limit });
    const rl = await a.venice.rateLimits(key.apiKey);
    const p = rateLimitsAnswer.safeParse(rl.body);
    const now = await a.now();
    const next = (Math.floor(now / EPOCH) + 1) * EPOCH;
    const said = p.success ? Math.floor(Date.parse(p.data.data.nextEpochBegins) / 1000) : undefined;
    ctx.expectEqual('AISP-INF-03', said, next, `nextEpochBegins is the next 00:00 UTC of the lab clock (${new Date(next * 1000).toISOString()})`);
    ctx.act(`the key spends its limit of ${limit} DIEM units`);
    const run = await exhaust(a, key.apiKey, m, prompt);
    const left = (await spendable(a, key.apiKey)).units;
    if (run.refusal?.status !== 402 || left === undefined || left >= cost) throw new Indeterminate('AISP-INF-03', `setup: the key could not be exhausted (${run.refusal?.status}, left ${left})`);
    ctx.act('the lab clock passes 00:00 UTC');
    await a.s.test.setNextBlockTimestamp({ timestamp: BigInt(next) });
    await mine(a, 1);
    const after = (await spendable(a, key.apiKey)).units;
    ctx.expectEqual('AISP-INF-03', after, limit, 'in the new epoch the key can spend its whole limit again');
    const again = await a.venice.chat(key.apiKey, ask(m, prompt));
    ctx.expectEqual('AISP-INF-03', again.status, 200, 'and a call goes through');
  },
});

// ---------------------------------------------------------------------------------------------

export const keyExpiryRevocation = defineScenario({
  kind: 'property',
  id: 'key-expiry-revocation',
  title: 'A key stops working at its expiresAt and right after DELETE /api_keys?id=',
  requirements: ['AISP-INF-04'],
  ...BASE,
  capabilities: [ADMIN_KEYS, 'clock-control'] as Capability[],
  arbitrary: () => fc.record({ ttl: fc.integer({ min: 120, max: 7 * 86_400 }), role: fc.constantFrom('provider', 'vendor1'), order: fc.boolean() }),
  async run(ctx, v) {
    const a = await open(ctx);
    const m = await model(a);
    const expiring = async () => {
      const expiresAt = (await a.now()) + v.ttl;
      const k = await issueKey(a, v.role, { expiresAt });
      const ok = await a.venice.chat(k.apiKey, ask(m, 'before expiry'));
      ctx.expectEqual('AISP-INF-04', ok.status, 200, 'before its expiresAt the key works');
      ctx.act(`the lab clock reaches the key's expiresAt (+${v.ttl}s)`);
      await a.s.test.setNextBlockTimestamp({ timestamp: BigInt(expiresAt) });
      await mine(a, 1);
      const late = await a.venice.chat(k.apiKey, ask(m, 'after expiry'));
      const rl = await a.venice.rateLimits(k.apiKey);
      ctx.check('AISP-INF-04', late.status === 401 && rl.status === 401, 'at its expiresAt the key is refused (401) by chat and rate_limits', {
        expected: '401, 401',
        actual: `${late.status}, ${rl.status}`,
      });
    };
    const revoked = async () => {
      const k = await issueKey(a, v.role);
      const ok = await a.venice.chat(k.apiKey, ask(m, 'before revocation'));
      ctx.expectEqual('AISP-INF-04', ok.status, 200, 'before revocation the key works');
      ctx.act(`${v.role} deletes the key`);
      const d = await a.venice.deleteKey(adminKey(a, v.role), k.id);
      if (d.status !== 200 && d.status !== 204) throw new Indeterminate('AISP-INF-04', `setup: DELETE /api_keys answered ${d.status}`);
      const late = await a.venice.chat(k.apiKey, ask(m, 'after revocation'));
      const rl = await a.venice.rateLimits(k.apiKey);
      ctx.check('AISP-INF-04', late.status === 401 && rl.status === 401, 'a deleted key is refused (401) by chat and rate_limits', { expected: '401, 401', actual: `${late.status}, ${rl.status}` });
    };
    for (const f of v.order ? [expiring, revoked] : [revoked, expiring]) await f();
  },
});

// ---------------------------------------------------------------------------------------------

export const adminRoutes = defineScenario({
  kind: 'property',
  id: 'admin-routes',
  title: 'Only ADMIN keys create, list and delete keys; a created key has the requested type and limit; lists show last6Chars only; no account deletes another’s key',
  requirements: ['AISP-INF-05'],
  ...BASE,
  arbitrary: () => fc.record({ limit: fc.bigInt({ min: 1n, max: 10n ** 9n }), owner: fc.constantFrom('provider', 'vendor1') }),
  async run(ctx, v) {
    const a = await open(ctx);
    const m = await model(a);
    const stranger = v.owner === 'provider' ? 'vendor1' : 'provider';
    const key = await issueKey(a, v.owner, { limitDiem: v.limit });
    const other = await issueKey(a, v.owner);
    ctx.act('the INFERENCE key tries the admin routes');
    const c = await a.venice.createKey(key.apiKey, { apiKeyType: 'ADMIN', description: 'escalation' });
    const l = await a.venice.listKeys(key.apiKey);
    const d = await a.venice.deleteKey(key.apiKey, other.id);
    for (const [what, r] of [
      ['create', c],
      ['list', l],
      ['delete', d],
    ] as const) {
      ctx.check('AISP-INF-05', r.status === 401 || r.status === 403, `an INFERENCE key cannot ${what} keys`, { expected: '401/403', actual: `${r.status} ${a.show(r.body, 200)}` });
    }
    const stillThere = await a.venice.chat(other.apiKey, ask(m, 'still here'));
    ctx.expectEqual('AISP-INF-05', stillThere.status, 200, 'the key the INFERENCE key tried to delete still works');
    ctx.act(`${v.owner} lists its keys`);
    const list = await a.venice.listKeys(adminKey(a, v.owner));
    const p = listKeysAnswer.safeParse(list.body);
    const row = p.success ? p.data.data.find((x) => x.id === key.id) : undefined;
    ctx.check('AISP-INF-05', list.status === 200 && row?.apiKeyType === 'INFERENCE' && row.last6Chars === key.apiKey.slice(-6), 'the owner lists the key as INFERENCE with its last 6 characters', {
      expected: `INFERENCE, last6Chars of ${fp(key.apiKey)}`,
      actual: `${list.status} ${row ? `${row.apiKeyType}, last6 ${row.last6Chars === key.apiKey.slice(-6) ? 'right' : 'wrong'}` : 'not listed'}`,
    });
    const limits = (row as { consumptionLimits?: { diem?: unknown } } | undefined)?.consumptionLimits?.diem;
    const rl = await spendable(a, key.apiKey);
    ctx.check('AISP-INF-05', rl.units === v.limit, 'the created key has the requested DIEM limit', { expected: v.limit, actual: `${rl.units} (listed ${String(limits)})` });
    const tooLong = p.success ? p.data.data.filter((x) => x.last6Chars.length > 6) : [];
    ctx.check('AISP-INF-05', p.success && tooLong.length === 0, 'every listed key, the account’s ADMIN key included, shows at most its last 6 characters', {
      expected: 'last6Chars of at most 6 characters',
      actual: tooLong.map((x) => `${x.apiKeyType} ${x.id}: ${x.last6Chars.length} characters`).join(', ') || (p.success ? 'none longer' : 'unparseable list'),
    });
    const listed = a.seen.filter((s) => s.method === 'GET' && /\/api_keys$/.test(new URL(s.url).pathname) && [key.apiKey, other.apiKey, adminKey(a, v.owner)].some((k) => s.text.includes(k)));
    ctx.check('AISP-INF-05', listed.length === 0, 'no key list shows a full key', { expected: 'last6Chars only', actual: listed.length ? 'a full key' : 'last6Chars only' });
    ctx.act(`${stranger} tries to delete ${v.owner}'s key and lists its own keys`);
    const foreign = await a.venice.deleteKey(adminKey(a, stranger), key.id);
    ctx.check('AISP-INF-05', is4xx(foreign.status), 'another account cannot delete the key', { expected: '4xx', actual: `${foreign.status}` });
    const works = await a.venice.rateLimits(key.apiKey);
    ctx.expectEqual('AISP-INF-05', works.status, 200, 'the key still authenticates after the foreign delete');
    const theirs = listKeysAnswer.safeParse((await a.venice.listKeys(adminKey(a, stranger))).body);
    ctx.check('AISP-INF-05', theirs.success && !theirs.data.data.some((x) => x.id === key.id), 'another account’s list does not show the key', {
      expected: 'absent',
      actual: theirs.success ? 'checked' : 'unparseable list',
    });
  },
});

export const inferenceScenarios = [inferenceChat, spendLimit, epochReset, keyExpiryRevocation, adminRoutes];
