/** Protocol `aisp`: renting idle DIEM / Venice inference capacity through a USDC escrow on Base (seed 000). */
import { z } from 'zod';
import { defineProtocol } from '../../harness/engine/dsl.ts';
import { AISP_CONSTANTS } from '../../reference-impl/aisp/protocol/constants.ts';
import { ADMIN_KEYS, PROVIDERS } from './lab.ts';
import { aispRegister } from './register.ts';
import { aispRequirements } from './requirements.ts';
import { aispScenarios } from './scenarios.ts';

/** `config.aisp` of a target file. */
const config = z
  .object({
    adminKeys: z
      .record(z.string(), z.string().min(8).max(512))
      .optional()
      .describe(
        'ADMIN keys on the target inference server, by provider role (provider, vendor1): the harness issues scoped INFERENCE keys with them, as a provider would before listing. Secrets: keep the target file private',
      ),
    confirmations: z.number().int().min(1).max(1000).optional().describe("blocks (the Funded block included) the backend waits before releasing a rental's key; default 1"),
    signatureWindowSeconds: z.number().int().min(1).max(86_400).optional().describe("the backend's ± tolerance for signed timestamps, in seconds; default 300"),
  })
  .strict();

export default defineProtocol({
  id: 'aisp',
  revisions: [
    {
      id: 'skill-1.0.2',
      title: 'the diem-marketplace AISP skill v1.0.2 (seed 000_07c10e81f02de9ab)',
      source: 'shared/seeds/000_07c10e81f02de9ab.txt; AgentWorkers/skills skills/daveo280/aisp/SKILL.md v1.0.2',
      default: true,
    },
  ],
  order: 50,
  summary: 'AISP / diem-marketplace: DiemMarketplace escrow (list, fund, settle 99/1, revokeAndRefund), the key-release backend, a Venice-compatible inference server',
  title: 'AISP: rent idle DIEM / Venice inference capacity through a USDC escrow on Base (listings, scoped keys on funding, settle with 1% fee, revoke and refund)',
  requirements: aispRequirements,
  scenarios: aispScenarios,
  endpoints: {
    'aisp-backend': { description: 'the AISP backend base URL (/api/listings, /api/keys, /api/key/:rentalId, /api/balance, /api/requests)', probe: { path: '/api/listings' } },
    'aisp-inference': { description: 'the Venice-compatible inference API the providers’ keys belong to, ending in /api/v1 (/chat/completions, /api_keys, /models)', probe: { path: '/models' } },
  },
  capabilities: {
    [ADMIN_KEYS]: `config.aisp.adminKeys names an ADMIN key on the inference server for each provider role (${PROVIDERS.join(', ')}), so the harness can issue scoped keys; granted automatically when the config names them`,
  },
  config,
  fixtures: [
    {
      name: 'admin-keys',
      description: 'grants aisp:admin-keys when config.aisp.adminKeys names a key for every provider role',
      async start(section) {
        const keys = (section as z.infer<typeof config> | undefined)?.adminKeys ?? {};
        if (!PROVIDERS.every((r) => keys[r])) return null;
        return { capabilities: [ADMIN_KEYS], describe: `ADMIN keys for ${PROVIDERS.join(', ')}`, stop: async () => {} };
      },
    },
  ],
  register: aispRegister,
  docs: { readme: 'scenarios/aisp/README.md', profile: 'scenarios/aisp/profile.md' },
  constants: AISP_CONSTANTS,
});
