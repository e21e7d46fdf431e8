/** Loopback networking helpers shared by the harness, the packs and their tests. */
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
