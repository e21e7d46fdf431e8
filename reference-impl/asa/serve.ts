/**
 * Start the asa reference parts as their own processes and describe them as a Target, so
 * `amh certify --protocol asa --target FILE` checks them from the outside.
 *
 *   npx tsx reference-impl/asa/serve.ts --part lightning [--port N]
 *   npx tsx reference-impl/asa/serve.ts --part relay [--port N] [--db FILE]
 *   npx tsx reference-impl/asa/serve.ts --part provider --relay ws://… --lightning http://… [--port N] [--db FILE] [--target-out FILE] [--challenge aperture|token] [--identity ROLE] [--token-lifetime S] [--token-max-requests N] [--fault NAME]… (ProviderFaults, for tests) [--restartable]
 *   npx tsx reference-impl/asa/serve.ts [--part all] [--target-out FILE]      (the three in one process)
 *
 * `--restartable` also starts a second provider as a supervised child (restartable.ts) and writes
 * its restart control into the target file (capability `restart`, `config.asa.restartable`).
 *
 * Each prints one JSON line once ready (`{part, url, …}`; the provider and `all` add `target`), then
 * runs until SIGTERM/SIGINT/SIGHUP or until the process that started it exits.
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { roleKey, roleKeys } from '../../harness/chain/accounts.ts';
import { watchForStop } from '../../harness/services/lifetime.ts';
import { type RestartableProvider, startRestartableProvider } from './restartable.ts';
import { startProvider } from './server/provider.ts';
import { startRelay } from './server/relay.ts';
import { startAsaStack, startNetwork } from './server/stack.ts';

function targetOf(endpoints: Record<string, string>, provider: { pubkey: string; node: string; url: string }, name: string, restartable?: RestartableProvider) {
  const config = { provider: { pubkey: provider.pubkey, node: provider.node, reputation: `${provider.url}/reputation` } };
  return {
    name,
    version: '0.1.0',
    endpoints,
    accounts: roleKeys()
      .filter((k) => k.kind !== 'ed25519')
      .map((k) => ({ role: k.role, kind: k.kind, privateKey: k.privateKey, publicKey: k.publicKey })),
    capabilities: ['asa:reputation-view', ...(restartable ? ['restart'] : [])],
    protocols: ['asa'],
    config: { asa: restartable ? { ...config, restartable: restartable.identity } : config },
    ...(restartable ? { restart: { 'asa-l402': restartable.control } } : {}),
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      part: { type: 'string', default: 'all' },
      port: { type: 'string' },
      db: { type: 'string' },
      relay: { type: 'string' },
      lightning: { type: 'string' },
      challenge: { type: 'string', default: 'aperture' },
      fault: { type: 'string', multiple: true },
      'target-out': { type: 'string' },
      /** The role whose Nostr and Lightning keys the provider uses (default provider; restartable.ts gives its own). */
      identity: { type: 'string', default: 'provider' },
      'token-lifetime': { type: 'string' },
      'token-max-requests': { type: 'string' },
      restartable: { type: 'boolean', default: false },
    },
  });
  const port = values.port ? Number(values.port) : undefined;
  const watch = watchForStop();
  let stop: () => Promise<void>;
  let line: Record<string, unknown>;
  if (values.part === 'lightning') {
    const { server } = await startNetwork({ port });
    stop = server.stop;
    line = { part: 'lightning', url: server.url };
  } else if (values.part === 'relay') {
    const r = await startRelay({ port, db: values.db });
    stop = r.stop;
    line = { part: 'relay', url: r.url };
  } else if (values.part === 'provider') {
    if (!values.relay || !values.lightning) throw new Error('--part provider needs --relay and --lightning');
    const p = await startProvider({
      relayUrl: values.relay,
      lightningUrl: values.lightning,
      nostrKey: roleKey(values.identity, 'nostr').privateKey,
      nodeKey: roleKey(values.identity, 'lightning').privateKey,
      port,
      db: values.db,
      ...(values['token-lifetime'] ? { tokenLifetime: Number(values['token-lifetime']) } : {}),
      ...(values['token-max-requests'] ? { tokenMaxRequests: Number(values['token-max-requests']) } : {}),
      challenge: values.challenge === 'token' ? 'token' : 'aperture',
      faults: Object.fromEntries((values.fault ?? []).map((f) => [f, true])),
    });
    // The crashable second provider carries the same faults (a crash variant is a restartable provider with one).
    const r = values.restartable ? await startRestartableProvider(values.relay, values.lightning, { args: (values.fault ?? []).flatMap((f) => ['--fault', f]) }) : undefined;
    stop = async () => {
      await r?.stop();
      await p.stop();
    };
    const target = targetOf({ 'asa-relay': values.relay, 'asa-l402': p.resourceUrl, 'asa-lightning': values.lightning }, p, 'asa reference provider (separate process)', r);
    if (values['target-out']) await writeFile(values['target-out'], JSON.stringify(target, null, 2));
    line = { part: 'provider', url: p.url, resource: p.resourceUrl, pubkey: p.pubkey, node: p.node, target };
  } else if (values.part === 'all') {
    const s = await startAsaStack();
    stop = s.stop;
    const target = targetOf(s.endpoints, s.provider, 'asa reference deployment (separate process)');
    if (values['target-out']) await writeFile(values['target-out'], JSON.stringify(target, null, 2));
    line = { part: 'all', endpoints: s.endpoints, target };
  } else throw new Error(`unknown --part ${values.part} (lightning, relay, provider, all)`);
  process.stdout.write(`${JSON.stringify(line)}\n`);
  await watch.reason;
  await stop().catch(() => undefined);
  watch.release();
  process.exit(0);
}

main().catch((e) => {
  process.stderr.write(`serve: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(2);
});
