/**
 * The asa provider the crash scenario kills (capability `restart`): serve.ts `--part provider` as a
 * supervised child process (harness/services/crashable.ts) beside the in-process provider, on the
 * same relay and Lightning network, with a fixed port, its own SQLite file (root key, tokens and
 * their use counts, offers, agreements, handled DMs) kept across each SIGKILL, and identities of its
 * own (role `provider-restartable`): two providers with one Nostr key would both answer every DM.
 * The in-process provider keeps serving every other scenario.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { roleKey } from '../../harness/chain/accounts.ts';
import { type CrashableServer, startCrashableServer } from '../../harness/services/crashable.ts';
import type { RestartControl } from '../../harness/target/schema.ts';

const SERVE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'serve.ts');
/** The role whose keys the restartable provider signs with. */
export const RESTARTABLE_IDENTITY = 'provider-restartable';

export interface RestartableProvider extends CrashableServer {
  /** The restart control for `asa-l402` (its `url` is the restartable provider's resource). */
  control: RestartControl & { url: string };
  /** Its identities, for `config.asa.restartable`. */
  identity: { pubkey: string; node: string };
}

/** Start it on `relayUrl` and `lightningUrl`; `args` are more serve.ts flags (`--fault NAME`, token limits). Returns before it is up. */
export async function startRestartableProvider(relayUrl: string, lightningUrl: string, o: { args?: string[]; log?: (line: string) => void } = {}): Promise<RestartableProvider> {
  const s = await startCrashableServer({
    name: 'asa-provider',
    script: SERVE,
    args: (dir, port) => [
      '--part',
      'provider',
      '--relay',
      relayUrl,
      '--lightning',
      lightningUrl,
      '--port',
      String(port),
      '--db',
      path.join(dir, 'provider.sqlite'),
      '--identity',
      RESTARTABLE_IDENTITY,
      ...(o.args ?? []),
    ],
    log: o.log,
  });
  return {
    ...s,
    control: { ...s.control, url: `${s.url}/v1/translate` },
    identity: { pubkey: roleKey(RESTARTABLE_IDENTITY, 'nostr').publicKey, node: roleKey(RESTARTABLE_IDENTITY, 'lightning').publicKey },
  };
}

/** serve.ts flags for the token limits the in-process provider mints with (a what-if profile's). */
export function tokenLimitArgs(k: { tokenLifetimeSeconds: number; tokenMaxRequests: number }): string[] {
  return ['--token-lifetime', String(k.tokenLifetimeSeconds), '--token-max-requests', String(k.tokenMaxRequests)];
}
