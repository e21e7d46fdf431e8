/** Loopback networking helpers shared by the harness, the packs and their tests. */
import { readFileSync } from 'node:fs';
import net from 'node:net';

/**
 * A TCP port on `host` that was free a moment ago and is closed now: for a server to bind next,
 * or for an address nothing listens on (an absent seller, a closed-port sentinel).
 */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, host, r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** The first port of the kernel's ephemeral range (where port 0 binds come from); 32768 if unknown. */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 1024 ? low : 32768;
  } catch {
    return 32768;
  }
}

/**
 * A free port below the ephemeral range, for a server that must get its port back after a crash
 * (harness/services/crashable.ts). An ephemeral port freed by the crash goes to the next process
 * that binds port 0: a test's own server on another worker took one during a restart, answered
 * the ready poll, and the scenario talked to it. A port below the range goes only to a process
 * that names it.
 */
export async function freeFixedPort(host = '127.0.0.1'): Promise<number> {
  const low = Math.min(ephemeralLow(), 32768);
  const from = Math.max(1025, low - 12_000);
  for (let i = 0; i < 100; i++) {
    const port = from + Math.floor(Math.random() * (low - from));
    const srv = net.createServer();
    const ok = await new Promise<boolean>((r) => {
      srv.once('error', () => r(false));
      srv.listen(port, host, () => r(true));
    });
    if (ok) {
      await new Promise<void>((r) => srv.close(() => r()));
      return port;
    }
  }
  throw new Error(`no free port found in ${from}-${low - 1} on ${host}`);
}
