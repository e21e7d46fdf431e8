/**
 * NIP-A5 negotiation messages: JSON in the `content` of NIP-17 DMs (kind 14 rumors, sealed and
 * gift-wrapped), discriminated by `type`. Unknown fields are kept (passthrough) so a peer's
 * extensions do not break parsing; a message that matches no schema is ignored.
 */
import { z } from 'zod';

const hex64 = z.string().regex(/^[0-9a-f]{64}$/);
const amount = z.number().int().nonnegative().max(2_100_000_000_000_000);

export const ServiceRequestMsg = z.looseObject({
  type: z.literal('service_request'),
  capability: hex64,
  params: z.record(z.string(), z.unknown()).optional(),
  budget: amount.optional(),
  deadline: z.number().int().nonnegative().optional(),
  /** Profile: the agreement's timeout in seconds the requester asks for (the PR's terms.timeout). */
  timeout: z.number().int().positive().max(86_400).optional(),
});
export const ServiceOfferMsg = z.looseObject({
  type: z.literal('service_offer'),
  price: amount,
  price_model: z.string(),
  l402_endpoint: z.string().url(),
  terms: z.looseObject({ timeout: z.number().optional(), max_requests: z.number().optional(), total_cap: z.number().optional() }).optional(),
});
export const AcceptMsg = z.looseObject({ type: z.literal('accept'), offer_event: hex64 });
export const RejectMsg = z.looseObject({ type: z.literal('reject'), reason: z.string().optional() });
export const CompleteMsg = z.looseObject({
  type: z.literal('complete'),
  asa: z.string().min(1).max(128),
  result: z.string().optional(),
  requests_made: z.number().optional(),
  total_paid: z.number().optional(),
});
export const DisputeMsg = z.looseObject({ type: z.literal('dispute'), asa: z.string().min(1).max(128), reason: z.string().optional() });
/** Profile: the provider tells the requester which 38402 the accept produced. */
export const AgreementMsg = z.looseObject({ type: z.literal('agreement'), asa: hex64, d: z.string() });

export const DmMessage = z.discriminatedUnion('type', [ServiceRequestMsg, ServiceOfferMsg, AcceptMsg, RejectMsg, CompleteMsg, DisputeMsg, AgreementMsg]);
export type DmMessage = z.infer<typeof DmMessage>;

export function parseDm(content: string): DmMessage | null {
  try {
    const r = DmMessage.safeParse(JSON.parse(content));
    return r.success ? r.data : null;
  } catch {
    return null;
  }
}
