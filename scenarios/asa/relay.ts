/**
 * The relay behaviour NIP-A5 relies on, checked with a raw WebSocket client (nostr-tools would drop
 * events that do not match the filter and hide the bug). Every run uses fresh keys, so runs do not
 * see each other's events on a relay that keeps state.
 */
import fc from 'fast-check';
import * as nip17 from 'nostr-tools/nip17';
import { defineScenario } from '../../harness/engine/dsl.ts';
import type { NostrEvent } from '../../reference-impl/asa/protocol/events.ts';
import { fresh, LIVE, now, pub, relayHttpUrl, short, sign, wire } from './lab.ts';

const RELAY = { endpoints: ['asa-relay'], ...LIVE };

const sortNewest = (a: NostrEvent, b: NostrEvent) => b.created_at - a.created_at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
const ids = (es: readonly NostrEvent[]) => es.map((e) => e.id);

export const publishRead = defineScenario({
  kind: 'property',
  id: 'relay-publish-read',
  title: 'A signed event gets OK true and is served back unchanged; one with a wrong id, signature or content gets OK false and is never served',
  requirements: ['ASA-RLY-01', 'ASA-RLY-02'],
  ...RELAY,
  arbitrary: () =>
    fc.record({
      kind: fc.constantFrom(1, 7, 1111, 4000),
      content: fc.string({ maxLength: 200 }),
      tags: fc.array(fc.tuple(fc.constantFrom('t', 's', 'x', 'subject'), fc.string({ minLength: 1, maxLength: 20 })), { maxLength: 4 }),
    }),
  async run(ctx, v) {
    const w = await wire(ctx);
    try {
      const sk = fresh();
      const e = sign(sk, { kind: v.kind, tags: v.tags.map(([a, b]) => [a, b]), content: v.content, created_at: now() });
      ctx.act(`${short(e.pubkey)} publishes kind ${v.kind} event ${short(e.id)}`);
      const ok = await w.publish(e);
      ctx.check('ASA-RLY-01', ok !== null, 'the relay answers the EVENT with OK', { expected: '["OK", id, true, …]', actual: ok ?? 'no OK within 3 s' });
      ctx.check('ASA-RLY-01', ok!.ok, 'a valid event is accepted', { expected: true, actual: ok });
      const q = await w.query([{ ids: [e.id] }]);
      ctx.check('ASA-RLY-01', q.eose, 'the REQ ends with EOSE', { expected: 'EOSE', actual: q.closed ?? 'no EOSE within 3 s' });
      ctx.expectEqual('ASA-RLY-01', q.events, [e], 'the event is served back unchanged');
      for (const how of ['id', 'sig', 'content'] as const) {
        const good = sign(sk, { kind: v.kind, tags: [['t', `tamper-${how}`]], content: `${v.content}!`, created_at: now() });
        const bad: NostrEvent =
          how === 'id'
            ? { ...good, id: `${good.id.slice(0, 63)}${good.id.endsWith('0') ? '1' : '0'}` }
            : how === 'sig'
              ? { ...good, sig: `${good.sig.slice(0, 127)}${good.sig.endsWith('0') ? '1' : '0'}` }
              : { ...good, content: `${good.content}tampered` };
        ctx.act(`${short(e.pubkey)} publishes the event with a changed ${how}`);
        const r = await w.publish(bad);
        ctx.check('ASA-RLY-01', r !== null, `the relay answers an EVENT with a bad ${how} with OK`, { expected: '["OK", id, false, "invalid: …"]', actual: r ?? 'no OK' });
        ctx.check('ASA-RLY-02', r!.ok === false, `an event with a bad ${how} is refused`, { expected: false, actual: r });
        const back = await w.query([{ ids: [bad.id] }, { authors: [bad.pubkey], '#t': [`tamper-${how}`] }]);
        ctx.expectEqual('ASA-RLY-02', ids(back.events), [], `the event with a bad ${how} is not served`);
      }
    } finally {
      w.close();
    }
  },
});

interface Planned {
  kind: number;
  dt: number;
  s: number;
  t: number;
  p: number;
}

export const filters = defineScenario({
  kind: 'property',
  id: 'relay-filters',
  title: 'Discovery filters (#s, #t, #d, #p, kinds, authors) select exactly; since/until are inclusive; limit gives the newest first, ties by lowest id',
  requirements: ['ASA-RLY-03', 'ASA-RLY-04', 'ASA-RLY-05'],
  ...RELAY,
  arbitrary: () =>
    fc.record({
      events: fc.array(fc.record({ kind: fc.constantFrom(1, 38400, 38401), dt: fc.integer({ min: 0, max: 4 }), s: fc.nat(2), t: fc.nat(2), p: fc.nat(1) }), { minLength: 3, maxLength: 9 }),
      pick: fc.record({
        kinds: fc.option(fc.constantFrom([1], [38400], [38400, 38401]), { nil: undefined }),
        s: fc.option(fc.nat(2), { nil: undefined }),
        t: fc.option(fc.nat(2), { nil: undefined }),
        p: fc.option(fc.nat(1), { nil: undefined }),
        d: fc.boolean(),
      }),
      window: fc.tuple(fc.nat(8), fc.nat(8)),
      limit: fc.integer({ min: 1, max: 6 }),
    }),
  async run(ctx, v) {
    const w = await wire(ctx);
    try {
      const run = Math.random().toString(36).slice(2, 8);
      const keys = [fresh(), fresh()];
      const authors = keys.map(pub);
      const ps = [pub(fresh()), pub(fresh())];
      const base = now() - 500;
      const stored: NostrEvent[] = [];
      for (const [i, p] of (v.events as Planned[]).entries()) {
        const tags = [
          ['s', `cat-${run}-${p.s}`],
          ['t', `tag-${run}-${p.t}`],
          ['p', ps[p.p]!],
          ['d', `d-${run}-${i}`],
        ];
        const e = sign(keys[i % 2]!, { kind: p.kind, tags, content: `event ${i}`, created_at: base + p.dt });
        ctx.act(`${short(e.pubkey)} publishes kind ${p.kind} at +${p.dt}s with s=${p.s} t=${p.t} p=${p.p}`);
        const ok = await w.publish(e);
        ctx.check('ASA-RLY-03', ok?.ok === true, 'a valid event is accepted', { expected: true, actual: ok });
        stored.push(e);
      }
      // (a) tag and kind filters, no time bounds, no limit: exactly the matching set.
      const f: Record<string, unknown> = { authors };
      if (v.pick.kinds) f.kinds = v.pick.kinds;
      if (v.pick.s !== undefined) f['#s'] = [`cat-${run}-${v.pick.s}`];
      if (v.pick.t !== undefined) f['#t'] = [`tag-${run}-${v.pick.t}`];
      if (v.pick.p !== undefined) f['#p'] = [ps[v.pick.p]!];
      if (v.pick.d) f['#d'] = [`d-${run}-0`, `d-${run}-2`];
      const expect = stored.filter(
        (e) =>
          (!v.pick.kinds || (v.pick.kinds as readonly number[]).includes(e.kind)) &&
          (v.pick.s === undefined || e.tags[0]![1] === `cat-${run}-${v.pick.s}`) &&
          (v.pick.t === undefined || e.tags[1]![1] === `tag-${run}-${v.pick.t}`) &&
          (v.pick.p === undefined || e.tags[2]![1] === ps[v.pick.p]) &&
          (!v.pick.d || [`d-${run}-0`, `d-${run}-2`].includes(e.tags[3]![1]!)),
      );
      ctx.act(`a client asks ${JSON.stringify(f)}`);
      const a = await w.query([f]);
      ctx.check('ASA-RLY-03', a.eose, 'the REQ ends with EOSE', { expected: 'EOSE', actual: a.closed ?? 'none' });
      ctx.expectEqual('ASA-RLY-03', ids(a.events).sort(), ids(expect).sort(), 'the filter returns exactly the matching events');
      // (b) since/until on exact created_at values: inclusive.
      const times = [...new Set(stored.map((e) => e.created_at))].sort((x, y) => x - y);
      const since = times[v.window[0] % times.length]!;
      const until = Math.max(since, times[v.window[1] % times.length]!);
      ctx.act(`a client asks since ${since - base} until ${until - base} (relative)`);
      const b = await w.query([{ authors, since, until }]);
      ctx.expectEqual(
        'ASA-RLY-04',
        ids(b.events).sort(),
        ids(stored.filter((e) => e.created_at >= since && e.created_at <= until)).sort(),
        'events at since and at until are included (both bounds inclusive)',
      );
      // (c) limit: the newest first, ties by lowest id.
      ctx.act(`a client asks the ${v.limit} newest`);
      const c = await w.query([{ authors, limit: v.limit }]);
      ctx.expectEqual('ASA-RLY-05', ids(c.events), ids([...stored].sort(sortNewest).slice(0, v.limit)), `limit ${v.limit} returns the newest events, newest first, ties by lowest id`);
    } finally {
      w.close();
    }
  },
});

export const addressable = defineScenario({
  kind: 'property',
  id: 'relay-addressable',
  title: 'Versions of an addressable event (kind:pubkey:d) published in any order: only the newest is served (same second: lowest id); another pubkey’s same d is a separate address',
  requirements: ['ASA-RLY-06'],
  ...RELAY,
  arbitrary: () => fc.record({ kind: fc.constantFrom(38400, 38401, 38402, 38403), offsets: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 2, maxLength: 5 }) }),
  async run(ctx, v) {
    const w = await wire(ctx);
    try {
      const sk = fresh();
      const other = fresh();
      const d = `addr-${Math.random().toString(36).slice(2)}`;
      const base = now() - 100;
      const versions = v.offsets.map((o, i) =>
        sign(sk, {
          kind: v.kind,
          tags: [
            ['d', d],
            ['status', `v${i}`],
          ],
          content: `version ${i}`,
          created_at: base + o,
        }),
      );
      for (const [i, e] of versions.entries()) {
        ctx.act(`${short(e.pubkey)} publishes version ${i} of ${v.kind}:${d} at +${v.offsets[i]}s (id ${short(e.id)})`);
        const ok = await w.publish(e);
        ctx.check('ASA-RLY-06', ok !== null, 'the relay answers with OK', { expected: 'OK', actual: ok ?? 'none' });
      }
      const foreign = sign(other, {
        kind: v.kind,
        tags: [
          ['d', d],
          ['status', 'forged'],
        ],
        content: 'same d, other pubkey',
        created_at: base + 10,
      });
      ctx.act(`${short(foreign.pubkey)} publishes ${v.kind} with the same d, later`);
      await w.publish(foreign);
      const winner = [...versions].sort(sortNewest)[0]!;
      const got = await w.query([{ kinds: [v.kind], authors: [winner.pubkey], '#d': [d] }]);
      ctx.expectEqual('ASA-RLY-06', ids(got.events), [winner.id], 'only the newest version (ties: lowest id) is served for the address');
      const theirs = await w.query([{ kinds: [v.kind], authors: [foreign.pubkey], '#d': [d] }]);
      ctx.expectEqual('ASA-RLY-06', ids(theirs.events), [foreign.id], 'the other pubkey’s event is a separate address');
    } finally {
      w.close();
    }
  },
});

export const deletion = defineScenario({
  kind: 'property',
  id: 'relay-deletion',
  title: 'NIP-09: another pubkey’s kind 5 deletes nothing; the author’s deletes by e and by a, and a resubmitted deleted event is not served',
  requirements: ['ASA-RLY-07', 'ASA-RLY-08'],
  ...RELAY,
  arbitrary: () => fc.record({ kind: fc.constantFrom(38400, 38401, 38402), note: fc.string({ maxLength: 40 }) }),
  async run(ctx, v) {
    const w = await wire(ctx);
    try {
      const author = fresh();
      const attacker = fresh();
      const d = `del-${Math.random().toString(36).slice(2)}`;
      const t = now() - 50;
      const note = sign(author, { kind: 1, tags: [], content: v.note, created_at: t });
      const addr = sign(author, { kind: v.kind, tags: [['d', d]], content: 'addressable', created_at: t });
      await w.publish(note);
      await w.publish(addr);
      const a = `${v.kind}:${addr.pubkey}:${d}`;
      ctx.act(`attacker ${short(pub(attacker))} publishes a kind 5 naming ${short(note.id)} and ${a.slice(0, 20)}…`);
      await w.publish(
        sign(attacker, {
          kind: 5,
          tags: [
            ['e', note.id],
            ['a', a],
            ['k', String(v.kind)],
          ],
          content: '',
          created_at: t + 1,
        }),
      );
      const still = await w.query([{ ids: [note.id, addr.id] }]);
      ctx.expectEqual('ASA-RLY-08', ids(still.events).sort(), [note.id, addr.id].sort(), 'another pubkey’s deletion removes nothing');
      ctx.act(`the author deletes ${short(note.id)} (e) and ${v.kind}:…:${d} (a)`);
      await w.publish(
        sign(author, {
          kind: 5,
          tags: [
            ['e', note.id],
            ['a', a],
            ['k', '1'],
            ['k', String(v.kind)],
          ],
          content: 'bye',
          created_at: t + 2,
        }),
      );
      const gone = await w.query([{ ids: [note.id, addr.id] }]);
      ctx.expectEqual('ASA-RLY-07', ids(gone.events), [], 'the author’s deletion removes the event and the address');
      ctx.act('someone resubmits the deleted event');
      await w.publish(note);
      const back = await w.query([{ ids: [note.id] }]);
      ctx.expectEqual('ASA-RLY-07', ids(back.events), [], 'a deleted event resubmitted is not served');
    } finally {
      w.close();
    }
  },
});

export const expiration = defineScenario({
  kind: 'property',
  id: 'relay-expiration',
  title: 'NIP-40: an already expired event is not served, and one that expires while stored stops being served',
  requirements: ['ASA-RLY-09'],
  ...RELAY,
  arbitrary: () => fc.record({ kind: fc.constantFrom(1, 38402), ago: fc.integer({ min: 1, max: 3600 }) }),
  async run(ctx, v) {
    const w = await wire(ctx);
    try {
      const sk = fresh();
      const t = now();
      const tag = (x: string) => [
        ['d', `exp-${Math.random().toString(36).slice(2)}`],
        ['expiration', x],
      ];
      const old = sign(sk, { kind: v.kind, tags: tag(String(t - v.ago)), content: 'expired already', created_at: t - v.ago - 10 });
      ctx.act(`publish a kind ${v.kind} that expired ${v.ago}s ago`);
      await w.publish(old);
      const q1 = await w.query([{ ids: [old.id] }]);
      ctx.expectEqual('ASA-RLY-09', ids(q1.events), [], 'an expired event is not served');
      const soon = sign(sk, { kind: v.kind, tags: tag(String(t + 1)), content: 'expires in a second', created_at: t });
      const control = sign(sk, { kind: v.kind, tags: [['d', `keep-${Math.random().toString(36).slice(2)}`]], content: 'no expiration', created_at: t });
      ctx.act('publish one that expires in 1 s and one without expiration');
      await w.publish(soon);
      await w.publish(control);
      const q0 = await w.query([{ ids: [soon.id, control.id] }]);
      // Judged only when the answer came back before the expiration second: on a loaded machine the
      // query may reach the relay after it, when dropping the event is right too.
      if (Date.now() / 1000 < t + 1) ctx.expectEqual('ASA-RLY-09', ids(q0.events).sort(), [soon.id, control.id].sort(), 'before the expiration both are served');
      else ctx.expectEqual('ASA-RLY-09', ids(q0.events).includes(control.id), true, 'the event without expiration is served (the other expired before the answer: not judged)');
      ctx.act('wait past the expiration');
      await new Promise((r) => setTimeout(r, (t + 1 - Date.now() / 1000) * 1000 + 1200));
      const q2 = await w.query([{ ids: [soon.id] }]);
      ctx.expectEqual('ASA-RLY-09', ids(q2.events), [], 'an event past its expiration is no longer served');
      const q3 = await w.query([{ ids: [control.id] }]);
      ctx.expectEqual('ASA-RLY-09', ids(q3.events), [control.id], 'the event without expiration is still served');
    } finally {
      w.close();
    }
  },
});

export const giftWraps = defineScenario({
  kind: 'property',
  id: 'relay-auth-gift-wraps',
  title: 'NIP-42: a challenge is sent and checked; a gift wrap is served only to the connection authenticated as its recipient',
  requirements: ['ASA-RLY-10', 'ASA-RLY-11'],
  ...RELAY,
  arbitrary: () => fc.string({ minLength: 1, maxLength: 100 }),
  async run(ctx, text) {
    const sender = fresh();
    const recipient = fresh();
    const third = fresh();
    const wrap = nip17.wrapEvent(sender, { publicKey: pub(recipient) }, text) as NostrEvent;
    const pubw = await wire(ctx);
    const spy = await wire(ctx);
    const anon = await wire(ctx);
    const owner = await wire(ctx);
    try {
      ctx.act(`${short(pub(sender))} publishes a gift wrap to ${short(pub(recipient))}`);
      await pubw.publish(wrap);
      ctx.act(`a third key ${short(pub(third))} authenticates with a wrong challenge`);
      await spy.next((f) => f[0] === 'AUTH', 2000);
      ctx.check('ASA-RLY-11', !!spy.challenge, 'the relay sends ["AUTH", <challenge>] on connect', { expected: 'a challenge', actual: spy.challenge ?? 'none within 2 s' });
      const bad = await spy.auth(third, { challenge: `${spy.challenge}x` });
      ctx.check('ASA-RLY-11', bad !== null && !bad.ok, 'AUTH signing another challenge is refused', { expected: 'OK false', actual: bad ?? 'no OK' });
      const good = await spy.auth(third);
      ctx.check('ASA-RLY-11', good?.ok === true, 'AUTH signing the challenge is accepted', { expected: 'OK true', actual: good ?? 'no OK' });
      const seen = await spy.query([{ kinds: [1059], '#p': [pub(recipient)] }, { ids: [wrap.id] }]);
      ctx.expectEqual('ASA-RLY-10', ids(seen.events), [], 'a connection authenticated as a third key gets no gift wrap for someone else');
      const seenAnon = await anon.query([{ kinds: [1059], '#p': [pub(recipient)] }, { ids: [wrap.id] }]);
      ctx.expectEqual('ASA-RLY-10', ids(seenAnon.events), [], 'an unauthenticated connection gets no gift wrap');
      ctx.act('the recipient authenticates and asks for its gift wraps');
      await owner.auth(recipient);
      const mine = await owner.query([{ kinds: [1059], '#p': [pub(recipient)] }]);
      ctx.expectEqual('ASA-RLY-10', ids(mine.events), [wrap.id], 'the authenticated recipient gets its gift wrap');
    } finally {
      for (const c of [pubw, spy, anon, owner]) c.close();
    }
  },
});

/** Frames no NIP-01 relay may act on: filters that are not objects, and an EVENT message that is an object imitating the array. */
const NOT_FILTERS: readonly unknown[] = [null, 5, 'kinds', true];
const MALFORMED = ['non-object-filters', 'object-message', 'subscriptions-past-limit'] as const;

export const relayMalformed = defineScenario({
  kind: 'property',
  id: 'relay-malformed',
  title:
    'A REQ whose filter is not a JSON object delivers no event, an EVENT sent as a JSON object (not an array) is not stored, and every REQ on one connection, past the relay’s max_subscriptions too, gets EOSE or CLOSED',
  requirements: ['ASA-RLY-01', 'ASA-RLY-12'],
  ...RELAY,
  // Every kind in every run (scenario rule 4), in a generated order.
  arbitrary: () => fc.shuffledSubarray([...MALFORMED], { minLength: MALFORMED.length }),
  async run(ctx, order: (typeof MALFORMED)[number][]) {
    const w = await wire(ctx);
    try {
      const sk = fresh();
      // A stored event, so a relay that reads a bad filter as "everything" has something to serve.
      const stored = sign(sk, { kind: 1, tags: [['t', `malformed-${Math.random().toString(36).slice(2, 8)}`]], content: 'stored', created_at: now() });
      ctx.act(`${short(stored.pubkey)} publishes event ${short(stored.id)}`);
      ctx.check('ASA-RLY-12', (await w.publish(stored))?.ok === true, 'a valid event is accepted', { expected: 'OK true' });
      for (const kind of order) {
        if (kind === 'non-object-filters') {
          for (const f of NOT_FILTERS) {
            ctx.act(`REQ with the filter ${JSON.stringify(f)}`);
            const q = await w.query([f as object]);
            ctx.expectEqual('ASA-RLY-12', ids(q.events), [], `a REQ whose filter is ${JSON.stringify(f)} (not a JSON object) delivers no event`);
          }
        } else if (kind === 'object-message') {
          const e = sign(sk, { kind: 1, tags: [['t', `object-message-${Math.random().toString(36).slice(2, 8)}`]], content: 'sent as an object', created_at: now() });
          ctx.act(`send {"0":"EVENT","1":<signed event ${short(e.id)}>}, a JSON object, not an array`);
          w.send({ 0: 'EVENT', 1: e });
          const back = await w.query([{ ids: [e.id] }]);
          ctx.expectEqual('ASA-RLY-12', ids(back.events), [], 'an EVENT message that is a JSON object (not an array) stores nothing');
          ctx.act('publish the same event as a NIP-01 array');
          const ok = await w.publish(e);
          ctx.check('ASA-RLY-12', ok?.ok === true, 'the same event sent as a NIP-01 array is accepted (so the object was refused for its shape)', { expected: 'OK true', actual: ok ?? 'no OK' });
        } else {
          // NIP-11's max_subscriptions when the relay declares one (the limit is its choice), else 50; one more REQ than that.
          let limit = 50;
          try {
            const info = (await (await ctx.fetch(relayHttpUrl(ctx), { headers: { accept: 'application/nostr+json' } })).json()) as { limitation?: { max_subscriptions?: unknown } };
            const m = info?.limitation?.max_subscriptions;
            if (typeof m === 'number' && Number.isInteger(m) && m > 0 && m < 500) limit = m;
          } catch {
            // no NIP-11 document: the default
          }
          const subs = Array.from({ length: limit + 1 }, (_, i) => `many-${i}-${Math.random().toString(36).slice(2, 8)}`);
          ctx.act(`open ${subs.length} subscriptions on one connection without closing any (the relay declares max_subscriptions ${limit})`);
          for (const sub of subs) w.send(['REQ', sub, { ids: [stored.id] }]);
          const unanswered: string[] = [];
          for (const sub of subs) if (!(await w.next((f) => (f[0] === 'EOSE' || f[0] === 'CLOSED') && f[1] === sub, 3000))) unanswered.push(sub);
          ctx.check('ASA-RLY-01', unanswered.length === 0, 'every REQ gets EOSE, or CLOSED when the relay refuses it (past its subscription limit)', {
            expected: `EOSE or CLOSED for each of ${subs.length} REQs`,
            actual: `${unanswered.length} without either: ${unanswered.slice(0, 3).join(', ')}`,
          });
          for (const sub of subs) w.send(['CLOSE', sub]);
        }
      }
    } finally {
      w.close();
    }
  },
});
