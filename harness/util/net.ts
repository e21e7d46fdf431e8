/** Loopback networking helpers shared by the harness, the packs and their tests. */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { processAlive } from '../chain/process.ts';

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

/** Where fixed ports are reserved: one file per port, holding the reserving process's pid. */
const RESERVATIONS = path.join(tmpdir(), 'amh-fixed-ports');

/**
 * Claims `port` in the reservation directory: true when this process holds it now (a reservation
 * left by a process that is gone is taken over), false when a live process holds it.
 */
function claim(port: number): boolean {
  const file = path.join(RESERVATIONS, String(port));
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx' });
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const holder = Number(readFileSync(file, 'utf8').trim() || 'NaN');
      if (Number.isInteger(holder) && holder > 0 && processAlive(holder)) return false;
      // Its holder is gone: remove the file and claim it (a rival doing the same gets EEXIST).
      rmSync(file, { force: true });
    }
  }
  return false;
}

/** A fixed port held for a server, and how to give it back. */
export interface FixedPort {
  port: number;
  /** Gives the port back (idempotent). */
  release(): void;
}

/**
 * A free port below the ephemeral range, reserved for a server that must get its port back after a
 * crash (harness/services/crashable.ts) until `release()`.
 *
 * Below the range: an ephemeral port freed by the crash goes to the next process that binds port 0
 * (a test's own server on another worker took one during a restart, answered the ready poll, and the
 * scenario talked to it); a port below the range goes only to a process that names it. Reserved:
 * a port picked at random while its crashable server was down for a restart was free to bind, so
 * another process's deployment took it (seen: the restart failed with EADDRINUSE and the scenario
 * talked to the other deployment's server). Every reservation is a file in the temp directory
 * naming the holder's pid, so processes and worker threads skip each other's ports; a holder that
 * died without releasing gives its ports up. `pick` chooses the candidate in [from, to) (tests).
 */
export async function reserveFixedPort(host = '127.0.0.1', o: { pick?: (from: number, to: number) => number } = {}): Promise<FixedPort> {
  mkdirSync(RESERVATIONS, { recursive: true });
  const low = Math.min(ephemeralLow(), 32768);
  const from = Math.max(1025, low - 12_000);
  for (let i = 0; i < 200; i++) {
    const port = o.pick ? o.pick(from, low) : from + Math.floor(Math.random() * (low - from));
    if (!claim(port)) continue;
    const file = path.join(RESERVATIONS, String(port));
    const release = () => {
      // Only our own reservation: a takeover after we were thought gone is someone else's.
      try {
        if (readFileSync(file, 'utf8').trim() === String(process.pid)) rmSync(file, { force: true });
      } catch {
        // already gone
      }
    };
    const srv = net.createServer();
    const ok = await new Promise<boolean>((r) => {
      srv.once('error', () => r(false));
      srv.listen(port, host, () => r(true));
    });
    if (ok) {
      await new Promise<void>((r) => srv.close(() => r()));
      return { port, release };
    }
    release();
  }
  throw new Error(`no free port found in ${from}-${low - 1} on ${host}`);
}

/** {@link reserveFixedPort} given back at once: a fixed port no crashable server holds, for a caller that binds it next. */
export async function freeFixedPort(host = '127.0.0.1'): Promise<number> {
  const r = await reserveFixedPort(host);
  r.release();
  return r.port;
}
