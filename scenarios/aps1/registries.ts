/**
 * AIProofRegistry and ReputationRegistry scenarios, on the target's chain only (snapshot isolation).
 */
import fc from 'fast-check';
import { encodePacked, keccak256, type Hex } from 'viem';
import { defineScenario } from '../../harness/engine/dsl.ts';
import { proofAbi, reputationAbi } from '../../reference-impl/aps1/protocol/abi.ts';
import { REPUTATION_FIELDS, reputationArgs, reputationScore, reputationTier, type ReputationInputs } from '../../reference-impl/aps1/protocol/reputation.ts';
import { actor, aps, hash32, NEEDS } from './lab.ts';

export const proofRegistry = defineScenario({
  kind: 'property',
  id: 'proof-registry',
  title: 'AIProofRegistry: zero plan refused, commitment id formula, verify once with the matched flag, slash only verified mismatches by the owner, stats',
  requirements: ['APS-PRF-02'],
  needs: NEEDS,
  roles: ['vendor1', 'vendor2', 'admin', 'attacker'],
  isolation: 'snapshot',
  arbitrary: () => fc.record({ plan: fc.bigInt({ min: 1n, max: 2n ** 255n }), match: fc.boolean(), job: fc.bigInt({ min: 0n, max: 2n ** 64n }), agent: fc.constantFrom('vendor1', 'vendor2') }),
  async run(ctx, v) {
    const a = await aps(ctx);
    const agent = actor(a, v.agent);
    const stats = async () => a.s.read(a.c.proof, proofAbi, 'getStats');
    const [t0, ver0, mat0, mis0, sl0] = await stats();
    ctx.act(`${v.agent} commits a zero plan hash`);
    const zero = await agent.send('commit(0)', { address: a.c.proof, abi: proofAbi, functionName: 'commit', args: [hash32(0), v.job] });
    ctx.check('APS-PRF-02', !zero.ok, 'a zero planHash is refused', { expected: 'refused', actual: zero.ok ? 'accepted' : zero.reason });
    const plan = hash32(v.plan);
    ctx.act(`${v.agent} commits plan ${plan.slice(0, 10)}… for job ${v.job}`);
    const c = await agent.send('commit', { address: a.c.proof, abi: proofAbi, functionName: 'commit', args: [plan, v.job] });
    const id = c.ok ? (c.events.find((e) => e.eventName === 'CommitmentMade')?.args.commitmentId as Hex | undefined) : undefined;
    ctx.check('APS-PRF-02', Boolean(id), 'commit emits CommitmentMade', { expected: 'CommitmentMade', actual: c.ok ? 'no event' : c.reason });
    const block = await a.s.public.getBlock({ blockNumber: (c as { blockNumber: bigint }).blockNumber });
    const expectedId = keccak256(encodePacked(['address', 'bytes32', 'uint256', 'uint256', 'uint256'], [agent.address, plan, v.job, block.timestamp, t0]));
    ctx.expectEqual('APS-PRF-02', id?.toLowerCase(), expectedId, 'commitmentId = keccak256(agent, planHash, jobId, timestamp, totalCommitments)');
    ctx.expectEqual('APS-PRF-02', (await a.s.read(a.c.proof, proofAbi, 'getJobCommitment', [v.job])).toLowerCase(), expectedId, 'getJobCommitment(jobId) is the commitment');
    ctx.act(`the owner tries to slash the unverified commitment`);
    const early = await actor(a, 'admin').send('slash (unverified)', { address: a.c.proof, abi: proofAbi, functionName: 'slash', args: [id!] });
    ctx.check('APS-PRF-02', !early.ok, 'an unverified commitment cannot be slashed', { expected: 'refused', actual: early.ok ? 'accepted' : early.reason });
    const result = v.match ? plan : hash32(v.plan ^ 1n);
    ctx.act(`${v.agent} verifies with a ${v.match ? 'matching' : 'different'} result hash`);
    const ok = await agent.send('verify', { address: a.c.proof, abi: proofAbi, functionName: 'verify', args: [id!, result] });
    const ev = ok.ok ? ok.events.find((e) => e.eventName === 'CommitmentVerified')?.args : undefined;
    ctx.check('APS-PRF-02', ev !== undefined && ev.matched === v.match && String(ev.resultHash).toLowerCase() === result, `verify records matched = ${v.match}`, {
      expected: `CommitmentVerified matched ${v.match}`,
      actual: ev ? `matched ${ev.matched}` : ok.ok ? 'no event' : ok.reason,
    });
    const again = await agent.send('verify again', { address: a.c.proof, abi: proofAbi, functionName: 'verify', args: [id!, plan] });
    ctx.check('APS-PRF-02', !again.ok, 'a commitment verifies once', { expected: 'refused', actual: again.ok ? 'accepted' : again.reason });
    const cm = await a.s.read(a.c.proof, proofAbi, 'getCommitment', [id!]);
    ctx.expectEqual(
      'APS-PRF-02',
      `${cm.agent.toLowerCase()} ${cm.verified} ${cm.matched} ${cm.resultHash.toLowerCase()}`,
      `${agent.address.toLowerCase()} true ${v.match} ${result}`,
      'getCommitment after verify',
    );
    ctx.act('the attacker, then the owner, try to slash');
    const foreign = await actor(a, 'attacker').send('slash by a stranger', { address: a.c.proof, abi: proofAbi, functionName: 'slash', args: [id!] });
    ctx.check('APS-PRF-02', !foreign.ok, 'only the owner slashes', { expected: 'refused', actual: foreign.ok ? 'accepted' : foreign.reason });
    const slash = await actor(a, 'admin').send('slash', { address: a.c.proof, abi: proofAbi, functionName: 'slash', args: [id!] });
    ctx.check('APS-PRF-02', slash.ok === !v.match, v.match ? 'a matched commitment cannot be slashed' : 'a verified mismatch is slashed', {
      expected: v.match ? 'refused' : 'accepted',
      actual: slash.ok ? 'accepted' : slash.reason,
    });
    if (!v.match) {
      const twice = await actor(a, 'admin').send('slash again', { address: a.c.proof, abi: proofAbi, functionName: 'slash', args: [id!] });
      ctx.check('APS-PRF-02', !twice.ok, 'a commitment is slashed once', { expected: 'refused', actual: twice.ok ? 'accepted' : twice.reason });
    }
    const [t1, ver1, mat1, mis1, sl1] = await stats();
    ctx.expectEqual('APS-PRF-02', `${t1 - t0}/${ver1 - ver0}/${mat1 - mat0}/${mis1 - mis0}/${sl1 - sl0}`, `1/1/${v.match ? 1 : 0}/${v.match ? 0 : 1}/${v.match ? 0 : 1}`, 'getStats counts');
  },
});

const small = fc.bigInt({ min: 0n, max: 60n });
const inputsArb: fc.Arbitrary<ReputationInputs> = fc.oneof(
  fc.record({
    nexusRatingSum: fc.bigInt({ min: 0n, max: 300n }),
    nexusRatingCount: small,
    offChainRatingSum: fc.bigInt({ min: 0n, max: 300n }),
    offChainRatingCount: small,
    jobsCompleted: fc.bigInt({ min: 0n, max: 3000n }),
    jobsFailed: fc.bigInt({ min: 0n, max: 3000n }),
    proofCommitments: small,
    proofVerified: fc.bigInt({ min: 0n, max: 2000n }),
    proofMatched: fc.bigInt({ min: 0n, max: 2000n }),
    proofSlashed: fc.bigInt({ min: 0n, max: 12n }),
  }),
  // Tier boundaries: 3000/3001, 6000/6001, 8000/8001, 9500/9501.
  fc
    .constantFrom<Partial<ReputationInputs>>(
      { nexusRatingSum: 5n, nexusRatingCount: 1n },
      { nexusRatingSum: 5n, nexusRatingCount: 1n, jobsCompleted: 1n, jobsFailed: 2499n },
      { nexusRatingSum: 5n, nexusRatingCount: 1n, offChainRatingSum: 5n, offChainRatingCount: 1n, jobsCompleted: 1n, jobsFailed: 4n },
      { nexusRatingSum: 5n, nexusRatingCount: 1n, offChainRatingSum: 5n, offChainRatingCount: 1n, jobsCompleted: 501n, jobsFailed: 1999n },
      { nexusRatingSum: 5n, nexusRatingCount: 1n, offChainRatingSum: 5n, offChainRatingCount: 1n, jobsCompleted: 7n },
      { nexusRatingSum: 5n, nexusRatingCount: 1n, offChainRatingSum: 5n, offChainRatingCount: 1n, jobsCompleted: 7n, proofVerified: 2000n, proofMatched: 1n },
      { nexusRatingSum: 5n, nexusRatingCount: 1n, offChainRatingSum: 5n, offChainRatingCount: 1n, jobsCompleted: 1n, proofVerified: 4n, proofMatched: 3n },
      { nexusRatingSum: 5n, nexusRatingCount: 1n, offChainRatingSum: 5n, offChainRatingCount: 1n, jobsCompleted: 1n, proofVerified: 2000n, proofMatched: 1501n },
    )
    .map((p) => Object.fromEntries(REPUTATION_FIELDS.map((k) => [k, p[k] ?? 0n])) as unknown as ReputationInputs),
);

export const reputation = defineScenario({
  kind: 'property',
  id: 'reputation-score',
  title: 'ReputationRegistry: score and tier follow the formula (tier boundaries included); only the owner writes',
  requirements: ['APS-REP-01', 'APS-REP-02'],
  needs: NEEDS,
  roles: ['admin', 'attacker', 'vendor1', 'vendor2'],
  isolation: 'snapshot',
  arbitrary: () => fc.record({ inputs: inputsArb, agent: fc.constantFrom('vendor1', 'vendor2'), forged: inputsArb }),
  async run(ctx, v) {
    const a = await aps(ctx);
    const who = a.s.address(v.agent);
    const before = await a.s.read(a.c.reputation, reputationAbi, 'getScore', [who]);
    ctx.act(`the attacker pushes a snapshot for ${v.agent}`);
    const bad = await actor(a, 'attacker').send('updateReputation by a stranger', {
      address: a.c.reputation,
      abi: reputationAbi,
      functionName: 'updateReputation',
      args: [who, ...reputationArgs(v.forged)] as never,
    });
    ctx.check('APS-REP-02', !bad.ok, 'a stranger cannot write reputation', { expected: 'refused', actual: bad.ok ? 'accepted' : bad.reason });
    const batch = await actor(a, 'attacker').send('batchUpdateReputation by a stranger', {
      address: a.c.reputation,
      abi: reputationAbi,
      functionName: 'batchUpdateReputation',
      args: [[who], [v.forged]] as never,
    });
    ctx.check('APS-REP-02', !batch.ok, 'a stranger cannot batch-write reputation', { expected: 'refused', actual: batch.ok ? 'accepted' : batch.reason });
    ctx.expectEqual('APS-REP-02', await a.s.read(a.c.reputation, reputationAbi, 'getScore', [who]), before, 'the score did not change');
    ctx.act(`the owner pushes ${REPUTATION_FIELDS.map((k) => `${k}=${v.inputs[k]}`).join(' ')}`);
    const ok = await actor(a, 'admin').send('updateReputation', { address: a.c.reputation, abi: reputationAbi, functionName: 'updateReputation', args: [who, ...reputationArgs(v.inputs)] as never });
    ctx.check('APS-REP-02', ok.ok, 'the owner writes reputation', { expected: 'accepted', actual: ok.ok ? 'accepted' : ok.reason });
    const score = reputationScore(v.inputs);
    ctx.expectEqual('APS-REP-01', await a.s.read(a.c.reputation, reputationAbi, 'getScore', [who]), score, 'getScore = the formula');
    ctx.expectEqual('APS-REP-01', Number(await a.s.read(a.c.reputation, reputationAbi, 'getTier', [who])), reputationTier(score), `getTier = the tier of ${score}`);
  },
});
