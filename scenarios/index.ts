/**
 * Registry of protocols the harness certifies. Adding a protocol = a scenarios/<id>/ folder whose
 * index.ts default-exports `defineProtocol({...})`, plus one line here.
 */
import type { ProtocolModule } from '../harness/engine/dsl.ts';
import usdc from './usdc/index.ts';
import erc8004 from './erc8004/index.ts';
import agentripe from './agentripe/index.ts';
import x402 from './x402/index.ts';

export const protocols: ProtocolModule[] = [usdc, erc8004, agentripe, x402];

/** Look up a protocol by id. */
export function getProtocol(id: string): ProtocolModule | undefined {
  return protocols.find((p) => p.id === id);
}
