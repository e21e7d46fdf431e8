/**
 * The lab clock: AISP's servers follow chain time (the timestamp the next block will carry), so a
 * scenario that moves the chain clock (evm_increaseTime) moves expiry, signature windows and the
 * Venice epoch with it. Outside the lab, `wallClock` is the ordinary clock.
 */
import { createPublicClient, type PublicClient } from 'viem';
import { keepAliveTransport } from '../../../harness/chain/index.ts';

/** Seconds since the epoch, possibly asynchronously. */
export type Clock = () => Promise<number>;

/** The wall clock in seconds. */
export const wallClock: Clock = async () => Math.floor(Date.now() / 1000);

/** Chain time: the pending block's timestamp (never below the latest block's). */
export function chainClock(rpcUrl: string, client?: PublicClient): Clock {
  const pub = client ?? (createPublicClient({ transport: keepAliveTransport(rpcUrl) }) as PublicClient);
  return async () => {
    const b = await pub.getBlock({ blockTag: 'pending' });
    return Number(b.timestamp);
  };
}
