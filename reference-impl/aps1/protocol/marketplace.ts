/**
 * The marketplace API the package's `APS1Client` talks to (specs/protocols.md §D.2: `GET /agents`,
 * `GET /agents/{id}`, `POST /agents/{id}/execute`, "escrow handled by marketplace backend"), with
 * what the seed leaves open written down by the profile (APS-PROF-10..12):
 *
 * - the execute body is the client's `{jobId, prompt, payload?, callerWallet}` (+ optional `token`);
 *   `jobId` is required (the package's client always sends one) because the caller's signature
 *   covers it: a jobId is charged once, so a signed request cannot be replayed;
 * - the marketplace escrows on the caller's behalf: it pulls the agent's price from `callerWallet`
 *   (an ERC-20 allowance to the marketplace's address), locks it in a NexusV2 job that pays the
 *   agent's wallet, calls the agent, and settles (success with a matching proof) or refunds and
 *   returns the money to the caller; the answer is the agent's APS1Result plus the escrow and the
 *   APS1Settlement;
 * - because it spends the caller's allowance, the marketplace only acts on a request the caller
 *   signed: EIP-191 over {@link executeAuthMessage}, in `X-APS1-Signature`, with the same
 *   `X-APS1-Timestamp` (unix seconds, within ±{@link AUTH_WINDOW_SECONDS} of the server clock).
 */
import { keccak256, stringToBytes } from 'viem';
import { z } from 'zod/v3';

/** How far a signed request's timestamp may be from the server's clock. */
export const AUTH_WINDOW_SECONDS = 300;

export const MarketplaceExecuteSchema = z.object({
  jobId: z.string().min(1).max(128),
  prompt: z.string().min(1).max(10000),
  payload: z.record(z.unknown()).optional(),
  callerWallet: z.string().regex(/^0x[a-fA-F0-9]{40}$/, 'Invalid Ethereum address'),
  token: z
    .string()
    .regex(/^0x[a-fA-F0-9]{40}$/, 'Invalid Ethereum address')
    .optional(),
});
export type MarketplaceExecute = z.infer<typeof MarketplaceExecuteSchema>;

/** The text the caller signs (EIP-191 personal_sign) to let the marketplace spend for this request. */
export function executeAuthMessage(o: { agentId: string; jobId: string; callerWallet: string; prompt: string; timestamp: number }): string {
  return [
    'APS-1 marketplace execute',
    `agent: ${o.agentId}`,
    `job: ${o.jobId}`,
    `caller: ${o.callerWallet.toLowerCase()}`,
    `prompt: ${keccak256(stringToBytes(o.prompt))}`,
    `timestamp: ${o.timestamp}`,
  ].join('\n');
}

/** Header names of the caller's authorization. */
export const AUTH_HEADERS = { signature: 'x-aps1-signature', timestamp: 'x-aps1-timestamp' } as const;
