/**
 * Kill table for `asa`: every requirement has a broken implementation that must fail it. Each
 * variant is the reference deployment (Lightning simulation, relay, provider: server/stack.ts) with
 * one test-only fault switched on (server/relay.ts RelayFaults, server/provider.ts ProviderFaults,
 * server/lightning.ts NetworkFaults), or with a proxy in front of one endpoint that mangles its HTTP
 * (the server's own code stays as it is), described as a Target exactly as the service publishes it.
 * The control and the crash variants also start the restartable provider (restartable.ts, a child
 * process the crash scenario kills), the crash variants with one fault in it.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { roleKeys } from '../../harness/chain/accounts.ts';
import { parseTarget } from '../../harness/target/schema.ts';
import { defineKills, type KillVariant } from '../../harness/testing/kill.ts';
import type { NetworkFaults } from './server/lightning.ts';
import type { ProviderFaults } from './server/provider.ts';
import type { RelayFaults } from './server/relay.ts';
import { type RestartableProvider, startRestartableProvider } from './restartable.ts';
import { type AsaFaults, type AsaStack, startAsaStack } from './server/stack.ts';

const relay = (requirement: string, f: keyof RelayFaults, defect: string, grep: string, runs = 3): KillVariant<Variant> => ({
  requirement,
  defect: `relay: ${defect}`,
  variant: { relay: { [f]: true } },
  grep,
  runs,
});
const prov = (requirement: string, f: keyof ProviderFaults, defect: string, grep: string, runs = 3): KillVariant<Variant> => ({
  requirement,
  defect: `provider: ${defect}`,
  variant: { provider: { [f]: true } },
  grep,
  runs,
});
const net = (requirement: string, f: keyof NetworkFaults, defect: string, grep: string, runs = 3): KillVariant<Variant> => ({
  requirement,
  defect: `network: ${defect}`,
  variant: { network: { [f]: true } },
  grep,
  runs,
});

/** Defects a proxy in front of one endpoint adds. */
type ProxyFault =
  /** asa-lightning answers a channel request it refuses with 500 instead of its 4xx. */
  | 'channelRefusal500'
  /** asa-lightning routes by path only: any method on a node's payments route, or POST to /pay, pays. */
  | 'paysAnyRoute'
  /** asa-l402 sends only the legacy LSAT challenge (its L402 one is dropped). */
  | 'lsatOnly'
  /** asa-lightning crashes on a body that is not JSON: 500, and the server never sees the request. */
  | 'nonJson500';

type Variant = AsaFaults & {
  proxy?: ProxyFault;
  /** Faults of the restartable provider the crash scenario kills (serve.ts --fault NAME); set: it is started. */
  restartable?: (keyof ProviderFaults)[];
};

const PROXIED: Record<ProxyFault, 'asa-lightning' | 'asa-l402'> = { channelRefusal500: 'asa-lightning', paysAnyRoute: 'asa-lightning', lsatOnly: 'asa-l402', nonJson500: 'asa-lightning' };

/** A forwarding proxy to `upstream`'s origin with one defect; repeated headers (two WWW-Authenticate) stay separate. */
async function manglingProxy(upstream: string, fault: ProxyFault): Promise<{ url: string; through(u: string): string; stop(): Promise<void> }> {
  const origin = new URL(upstream).origin;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (fault === 'nonJson500' && chunks.length) {
        try {
          JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch (e) {
          res.writeHead(500, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: { code: 'internal', message: (e as Error).message } }));
          return;
        }
      }
      let method = req.method ?? 'GET';
      let path = req.url ?? '/';
      if (fault === 'paysAnyRoute' && /^\/v1\/nodes\/[^/]+\/(payments|pay)$/.test(path)) {
        method = 'POST';
        path = path.replace(/\/pay$/, '/payments');
      }
      const headers = { ...req.headers, host: new URL(origin).host };
      const up = http.request(`${origin}${path}`, { method, headers }, (u) => {
        const body: Buffer[] = [];
        u.on('data', (c: Buffer) => body.push(c));
        u.on('end', () => {
          let status = u.statusCode ?? 502;
          if (fault === 'channelRefusal500' && path === '/v1/channels' && status >= 400 && status < 500) status = 500;
          const out: [string, string][] = [];
          for (let i = 0; i < u.rawHeaders.length; i += 2) {
            const [k, v] = [u.rawHeaders[i]!, u.rawHeaders[i + 1]!];
            if (/^(content-length|transfer-encoding|connection|keep-alive)$/i.test(k)) continue;
            if (fault === 'lsatOnly' && /^www-authenticate$/i.test(k) && /^L402 /i.test(v)) continue;
            out.push([k, v]);
          }
          res.writeHead(status, out.flat());
          res.end(Buffer.concat(body));
        });
      });
      up.on('error', (e) => {
        res.writeHead(502, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { code: 'bad_gateway', message: e.message } }));
      });
      up.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    through: (u) => `${url}${u.slice(origin.length)}`,
    stop: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** An in-process stack described as a Target (the kill variants, and tests of other stack options); with `restartable`, its crash control too. */
export function stackTarget(s: AsaStack, name: string, restartable?: RestartableProvider) {
  return parseTarget({
    name,
    endpoints: s.endpoints,
    accounts: roleKeys()
      .filter((k) => k.kind !== 'ed25519')
      .map((k) => ({ role: k.role, kind: k.kind, privateKey: k.privateKey, publicKey: k.publicKey })),
    capabilities: ['asa:reputation-view', ...(restartable ? ['restart'] : [])],
    config: restartable ? { asa: { ...s.config.asa, restartable: restartable.identity } } : s.config,
    ...(restartable ? { restart: { 'asa-l402': restartable.control } } : {}),
  });
}

/** A variant whose restartable provider has one fault, against ASA-RST-01 (one run: a restart at every boundary). */
const crash = (f: keyof ProviderFaults, defect: string): KillVariant<Variant> => ({
  requirement: 'ASA-RST-01',
  defect: `restartable provider: ${defect}`,
  variant: { restartable: [f] },
  grep: 'provider-restart',
  runs: 1,
});

const proxied = (requirement: string, proxy: ProxyFault, defect: string, grep: string, runs = 1): KillVariant<Variant> => ({
  requirement,
  defect: `${PROXIED[proxy].slice(4)} behind a proxy: ${defect}`,
  variant: { proxy },
  grep,
  runs,
});

export default defineKills<Variant>({
  protocol: 'asa',
  // One run: certify.test.ts runs the same reference through its target file at 3 or more runs.
  controlRuns: 1,
  controlWithoutRestart: 'certify.test.ts: the relay and provider in their own processes pass the crash requirement through the restart command',
  async start(v) {
    const { proxy: fault, restartable: crashFaults, ...faults } = v ?? {};
    const s = await startAsaStack({ faults: v ? faults : undefined });
    const name = `asa reference${v ? ` with ${JSON.stringify(v)}` : ''}`;
    // The crashable provider (a child process) for the control and the crash variants only: it costs a process.
    const r =
      !v || crashFaults
        ? await startRestartableProvider(s.relay.url, s.lightning.url, { args: (crashFaults ?? []).flatMap((f) => ['--fault', f]) }).catch(async (e) => {
            await s.stop();
            throw e;
          })
        : undefined;
    const stopAll = async () => {
      await r?.stop();
      await s.stop();
    };
    if (!fault) return { target: stackTarget(s, name, r), stop: stopAll };
    const endpoint = PROXIED[fault];
    const p = await manglingProxy(s.endpoints[endpoint], fault).catch(async (e) => {
      await stopAll();
      throw e;
    });
    const target = stackTarget({ ...s, endpoints: { ...s.endpoints, [endpoint]: p.through(s.endpoints[endpoint]) } }, name, r);
    return {
      target,
      stop: async () => {
        await p.stop();
        await stopAll();
      },
    };
  },
  variants: [
    relay('ASA-RLY-01', 'noEose', 'ends no REQ with EOSE', 'relay-publish-read', 1),
    relay('ASA-RLY-02', 'skipVerify', 'stores events without checking id and signature', 'relay-publish-read'),
    relay('ASA-RLY-03', 'ignoreTagFilters', 'ignores #tag filters', 'relay-filters', 10),
    relay('ASA-RLY-04', 'exclusiveSinceUntil', 'treats since/until as exclusive', 'relay-filters', 10),
    relay('ASA-RLY-05', 'oldestFirst', 'limit returns the oldest first', 'relay-filters', 10),
    relay('ASA-RLY-06', 'acceptOlderVersion', 'an older version replaces a newer one', 'relay-addressable', 10),
    { requirement: 'ASA-RLY-06', defect: 'relay: keeps every version of an address', variant: { relay: { keepAllVersions: true } }, grep: 'relay-addressable', runs: 5 },
    { requirement: 'ASA-RLY-06', defect: 'relay: same-second tie keeps the highest id', variant: { relay: { tieHighestId: true } }, grep: 'relay-addressable', runs: 25 },
    relay('ASA-RLY-07', 'ignoreDeletion', 'ignores NIP-09 deletions', 'relay-deletion'),
    relay('ASA-RLY-08', 'deleteOthers', 'lets anyone delete anyone’s events', 'relay-deletion'),
    relay('ASA-RLY-09', 'serveExpired', 'serves expired events', 'relay-expiration', 1),
    relay('ASA-RLY-10', 'giftWrapsToAnyone', 'serves gift wraps to anyone', 'relay-auth-gift-wraps'),
    relay('ASA-RLY-11', 'acceptAnyAuth', 'accepts AUTH for any challenge', 'relay-auth-gift-wraps'),
    relay('ASA-RLY-01', 'silentSubscriptionLimit', 'a REQ past its subscription limit gets neither EOSE nor CLOSED', 'relay-malformed', 1),
    relay('ASA-RLY-12', 'lenientFilters', 'a filter that is not an object matches everything', 'relay-malformed', 1),
    relay('ASA-RLY-12', 'objectMessages', 'an EVENT sent as a JSON object is stored', 'relay-malformed', 1),
    prov('ASA-EVT-01', 'badPriceTag', 'the 38400 price is "fifty"', 'negotiate', 2),
    prov('ASA-EVT-02', 'agreementOneParty', 'the 38402 has no p tag with role provider', 'negotiate', 3),
    prov('ASA-EVT-03', 'omitAgreementD', 'the 38402 has no d (the SDK dialect)', 'negotiate', 3),
    prov('ASA-NEG-01', 'silent', 'never answers a service_request', 'negotiate', 2),
    prov('ASA-NEG-02', 'ignoreFloor', 'offers below its floor', 'negotiate', 15),
    prov('ASA-NEG-03', 'agreementListedPrice', 'the agreement carries the listed price, not the negotiated one', 'negotiate', 15),
    prov('ASA-PRV-01', 'plaintextReply', 'answers DMs in clear (kind 4, unencrypted)', 'negotiate', 2),
    prov('ASA-AGR-01', 'disputeAfterComplete', 'a completed agreement can be disputed', 'agreement-lifecycle', 2),
    prov('ASA-AGR-02', 'anyoneMayComplete', 'honours complete DMs from any key', 'agreement-lifecycle', 2),
    prov('ASA-AGR-03', 'noPaymentHash', 'completes without payment_hash', 'agreement-lifecycle', 2),
    prov('ASA-AGR-04', 'neverExpire', 'never marks agreements expired', 'agreement-expiry', 1),
    prov('ASA-L402-01', 'noInvoice', 'the challenge carries no invoice', 'l402-challenge', 1),
    prov('ASA-L402-02', 'refusePaid', 'refuses every paid credential', 'l402-paid', 1),
    prov('ASA-L402-03', 'skipPreimageCheck', 'does not check the preimage', 'l402-wrong-preimage', 1),
    prov('ASA-L402-04', 'skipSignature', 'does not verify the macaroon’s HMAC chain', 'l402-forged-macaroon', 4),
    prov('ASA-L402-05', 'ignoreExpiry', 'ignores the expiry caveat', 'l402-expired-macaroon', 1),
    prov('ASA-L402-06', 'ignoreServices', 'ignores the service-scope caveat', 'l402-service-scope', 1),
    prov('ASA-L402-07', 'ignoreCount', 'ignores the request-count caveat', 'l402-request-count', 2),
    prov('ASA-L402-08', 'rejectUnknownCaveats', 'refuses unknown caveats', 'l402-unknown-caveat', 1),
    prov('ASA-L402-09', 'rejectLsat', 'refuses the LSAT spelling', 'l402-lsat-spelling', 1),
    prov('ASA-L402-10', 'crashOnMalformed', 'a malformed Authorization crashes the handler (500)', 'l402-malformed-authorization', 1),
    proxied('ASA-L402-11', 'lsatOnly', 'sends only the legacy LSAT challenge', 'l402-challenge'),
    prov('ASA-LN-01', 'wrongAmount', 'the invoice is 1 sat above the price', 'l402-challenge', 1),
    { requirement: 'ASA-LN-01', defect: 'provider: invoices signed by another node', variant: { provider: { foreignNode: true } }, grep: 'l402-challenge', runs: 1 },
    net('ASA-LN-02', 'noFees', 'forwards without its fee', 'ln-routing-exhaustion', 5),
    { requirement: 'ASA-LN-02', defect: 'network: the payee is not credited', variant: { network: { skipPayeeCredit: true } }, grep: 'ln-routing-exhaustion', runs: 3 },
    net('ASA-LN-03', 'leakOnFailure', 'a payment no route can carry still moves liquidity', 'ln-routing-exhaustion', 2),
    { requirement: 'ASA-LN-03', defect: 'network: routes without checking liquidity', variant: { network: { ignoreLiquidity: true } }, grep: 'ln-routing-exhaustion', runs: 5 },
    net('ASA-LN-03', 'ignoreFeeLimit', 'pays above the payer’s maxFeeMsat', 'ln-routing-exhaustion', 3),
    net('ASA-LN-04', 'allowDoublePay', 'pays an invoice twice', 'ln-invoice-once', 1),
    { requirement: 'ASA-LN-04', defect: 'network: pays expired invoices', variant: { network: { ignoreExpiry: true } }, grep: 'ln-invoice-once', runs: 1 },
    net('ASA-LN-05', 'firstRoute', 'takes the first route that can carry a payment, not the cheapest', 'ln-routing-exhaustion', 10),
    proxied('ASA-LN-06', 'channelRefusal500', 'a channel to an unregistered node or to itself gets 500', 'ln-api-refusals'),
    proxied('ASA-LN-06', 'paysAnyRoute', 'a valid invoice sent with PUT, or POSTed to /pay, is paid', 'ln-api-refusals'),
    relay('ASA-ROB-01', 'closeOnMalformed', 'closes the connection on a frame that is not a NIP-01 message (instead of a NOTICE)', 'asa/robustness', 1),
    relay('ASA-ROB-01', 'skipVerify', 'stores events without checking id and signature (acts on a malformed EVENT)', 'asa/robustness', 1),
    proxied('ASA-ROB-01', 'nonJson500', 'a body that is not JSON gets 500', 'asa/robustness'),
    prov('ASA-ATT-01', 'emptyReputation', 'the reputation view counts nothing', 'reputation-proofs', 1),
    prov('ASA-ATT-02', 'naiveReputation', 'the reputation view counts every attestation', 'reputation-proofs', 1),
    // ---- crashes and duplicates ----
    crash('rootKeyPerStart', 'the L402 root key is in memory only (a new one at every start: issued macaroons stop verifying)'),
    crash('tokensInMemory', 'issued tokens are in memory only (a paid buyer is refused after a restart)'),
    crash('usesInMemory', 'token use counts are in memory only (a spent one-request token is served again after a restart)'),
    prov(
      'ASA-FLT-01',
      'staleUseCount',
      'judges the request count on the value read before its settlement lookup (a credential delivered twice at once is served twice)',
      'fault-duplicate-delivery',
      1,
    ),
    net('ASA-FLT-01', 'allowDoublePay', 'pays an invoice twice (a pay call delivered twice charges the payer twice)', 'fault-duplicate-delivery', 1),
  ],
});
