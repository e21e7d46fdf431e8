/** Protocol `agentripe`: x402-paid tasks, escrowed USDC, AI review with at most 5 rejections (seed 002). */
import { z } from 'zod';
import { defineProtocol } from '../../harness/engine/dsl.ts';
import { startFixtureReviewer } from '../../reference-impl/agentripe/agents/reviewer.ts';
import { AGENTRIPE_CONSTANTS } from '../../reference-impl/agentripe/protocol/constants.ts';
import { agentripeRegister } from './register.ts';
import { agentripeRequirements } from './requirements.ts';
import { agentripeScenarios } from './scenarios.ts';

/** `config.agentripe` of a target file. */
const config = z
  .object({
    reviewFixture: z
      .object({
        listen: z
          .string()
          .regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'must be host:port, e.g. 127.0.0.1:4099')
          .describe("host:port where the harness serves its fixture reviewer (OpenAI-compatible, base URL http://<listen>/v1) while the run lasts; point the server's AI reviewer there"),
      })
      .strict()
      .optional(),
  })
  .strict();

export default defineProtocol({
  id: 'agentripe',
  revisions: [{ id: 'seed-002', title: 'the Agentripe document as published (seed 002_7235e61ee1bdc3b5)', source: 'shared/seeds/002_7235e61ee1bdc3b5.txt', default: true }],
  order: 40,
  summary: 'a whole Agentripe server: x402-paid tasks, escrow, AI review (5 rejections then refund), vendor auth',
  title: 'Agentripe: x402-paid tasks, USDC escrow, AI review (5 rejections then refund), ERC-8004 identity',
  requirements: agentripeRequirements,
  scenarios: agentripeScenarios,
  endpoints: { agentripe: { description: 'the Agentripe server base URL (paid routes, /tasks, /vendor, /agents)', probe: { path: '/health' } } },
  capabilities: {
    'agentripe:review-fixture':
      "the server's AI reviewer applies the harness's documented review-fixture rule (reference-impl/agentripe/protocol/review-fixture.ts), e.g. because it is pointed at the fixture reviewer; without it the review requirements are not-applicable",
  },
  config,
  register: agentripeRegister,
  fixtures: [
    {
      name: 'review-fixture',
      description: 'the deterministic fixture reviewer, served where config.agentripe.reviewFixture.listen says',
      async start(section) {
        const listen = (section as z.infer<typeof config> | undefined)?.reviewFixture?.listen;
        if (!listen) return null;
        const i = listen.lastIndexOf(':');
        const host = listen.slice(0, i).replace(/^\[|\]$/g, '');
        const port = Number(listen.slice(i + 1));
        const r = await startFixtureReviewer({ host, port }).catch((e: NodeJS.ErrnoException) => {
          throw new Error(e.code === 'EADDRINUSE' ? `config.agentripe.reviewFixture.listen: ${listen} is already in use` : `config.agentripe.reviewFixture.listen ${listen}: ${e.message}`);
        });
        return { capabilities: ['agentripe:review-fixture'], describe: `fixture reviewer serving ${r.url}`, stop: r.stop };
      },
    },
  ],
  docs: { readme: 'scenarios/agentripe/README.md', profile: 'scenarios/agentripe/profile.md' },
  constants: AGENTRIPE_CONSTANTS,
});
