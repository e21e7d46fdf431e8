/** Target schema: valid files load, invalid ones name the bad field, the published JSON Schema is in sync. */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'vitest';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { loadProtocols } from '../packs/discover.ts';
import { targetSchemaText } from './export-schema.ts';
import { TargetError, checkTargetAgainstProtocols, listenAddress, loadTargetFile, parseTarget } from './schema.ts';

const example = {
  name: 'acme agent server',
  version: '1.2.3',
  chains: [
    {
      id: 'base-sepolia',
      chainId: 84532,
      rpcUrl: 'http://127.0.0.1:8545',
      usdc: { address: '0x036CbD53842c5426634e7929541eC2318f3dCF7e', name: 'USDC', version: '2', decimals: 6 },
      contracts: { identityRegistry: '0x8004A818BFB912233c491871b3d84c89A494BD9e' },
    },
  ],
  endpoints: { agentripe: 'http://127.0.0.1:4020' },
  accounts: [{ role: 'buyer1', address: '0x13D6d54dC137b1b8cA9DA8C6f496ad81Ed5C853e', privateKey: `0x${'11'.repeat(32)}` }],
  capabilities: ['snapshot', 'clock-control'],
};

test('a valid target parses with defaults filled', () => {
  const t = parseTarget({ name: 'x', chains: [{ id: 'c', chainId: 1, rpcUrl: 'http://h:1' }] });
  assert.deepEqual(t.accounts, []);
  assert.deepEqual(t.capabilities, []);
  assert.deepEqual(t.chains[0]!.contracts, {});
  assert.equal(parseTarget(example).chains[0]!.usdc!.name, 'USDC');
});

test('invalid targets are refused with an error naming every bad field', () => {
  const bad = structuredClone(example) as Record<string, any>;
  bad.chains[0].rpcUrl = 'ws://nope';
  bad.accounts[0].privateKey = '0x1234';
  bad.capabilities = ['snapshot', 'time travel'];
  bad.extra = true;
  try {
    parseTarget(bad, 'file t.json');
    assert.fail('should throw');
  } catch (e) {
    assert.ok(e instanceof TargetError);
    assert.match(e.message, /invalid target file t\.json/);
    assert.match(e.message, /chains\[0\]\.rpcUrl: must be an http/);
    assert.match(e.message, /accounts\[0\]\.privateKey: must be a 0x-prefixed 32-byte hex private key/);
    assert.match(e.message, /capabilities\[1\]/);
    assert.match(e.message, /extra/);
  }
  assert.throws(() => parseTarget({ ...example, chains: [example.chains[0], example.chains[0]] }), /chains\[1\]\.id: duplicate chain id 'base-sepolia'/);
  assert.throws(() => parseTarget({ ...example, accounts: [{ role: 'buyer1', kind: 'nostr', privateKey: 'zz' }] }), /accounts\[0\]\.privateKey: must be 32 bytes of hex/);
  assert.throws(() => parseTarget({ ...example, accounts: [{ role: 'buyer1', kind: 'martian', privateKey: 'zz' }] }), /accounts\[0\]\.kind/);
});

test('a target without chains (a protocol with no chain) and with non-EVM keys is valid', () => {
  const t = parseTarget({
    name: 'relay only',
    endpoints: { relay: 'ws://127.0.0.1:7000' },
    accounts: [
      { role: 'buyer1', kind: 'nostr', privateKey: '11'.repeat(32) },
      { role: 'buyer1', kind: 'ed25519', privateKey: `0x${'22'.repeat(32)}` },
      { role: 'provider', kind: 'lightning', privateKey: '33'.repeat(32), publicKey: `02${'44'.repeat(32)}` },
    ],
    capabilities: ['asa:relay-reset'],
  });
  assert.deepEqual(t.chains, []);
  assert.deepEqual(
    t.accounts.map((a) => [a.role, a.kind]),
    [
      ['buyer1', 'nostr'],
      ['buyer1', 'ed25519'],
      ['provider', 'lightning'],
    ],
  );
  assert.equal((t.accounts[1] as { privateKey: string }).privateKey, '22'.repeat(32), '0x is dropped');
  assert.throws(
    () =>
      parseTarget({
        name: 'x',
        accounts: [
          { role: 'a', kind: 'nostr', privateKey: '11'.repeat(32) },
          { role: 'a', kind: 'nostr', privateKey: '12'.repeat(32) },
        ],
      }),
    /duplicate nostr account for role 'a'/,
  );
});

test('protocol sections: unknown endpoint names, capabilities and config sections are refused with a "did you mean"', async () => {
  const protocols = await loadProtocols();
  const ok = checkTargetAgainstProtocols(
    parseTarget({ ...example, capabilities: ['snapshot', 'agentripe:review-fixture'], config: { agentripe: { reviewFixture: { listen: '127.0.0.1:4099' } } } }),
    protocols,
  );
  assert.deepEqual(ok.config.agentripe, { reviewFixture: { listen: '127.0.0.1:4099' } });
  try {
    checkTargetAgainstProtocols(
      parseTarget({
        ...example,
        endpoints: { x402_resource: 'http://127.0.0.1:1' },
        capabilities: ['agentripe:review-fixtur'],
        config: { agentripe: { reviewFixture: { listen: 'nowhere' } }, agentrip: {} },
      }),
      protocols,
      'file t.json',
    );
    assert.fail('should throw');
  } catch (e) {
    assert.ok(e instanceof TargetError);
    assert.match(e.message, /endpoints\.x402_resource: no protocol uses an endpoint named 'x402_resource' \(did you mean 'x402-resource'\?\)/);
    assert.match(e.message, /capabilities\[0\]: unknown capability 'agentripe:review-fixtur' \(did you mean 'agentripe:review-fixture'\?\)/);
    assert.match(e.message, /config\.agentripe\.reviewFixture\.listen: must be host:port/);
    assert.match(e.message, /config\.agentrip: unknown protocol 'agentrip' \(did you mean 'agentripe'\?\)/);
  }
});

test('loadTargetFile reports unreadable and non-JSON files clearly', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'amh-target-'));
  await assert.rejects(loadTargetFile(path.join(dir, 'missing.json')), /cannot read target file/);
  await writeFile(path.join(dir, 'bad.json'), '{ not json');
  await assert.rejects(loadTargetFile(path.join(dir, 'bad.json')), /is not valid JSON/);
  await writeFile(path.join(dir, 'ok.json'), JSON.stringify(example));
  assert.equal((await loadTargetFile(path.join(dir, 'ok.json'))).name, 'acme agent server');
});

test('a target file grants rpc-faults only with chains[].serverRpc (the address its servers use as RPC), and the address is host:port with a fixed port', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'amh-target-'));
  const load = async (t: unknown) => {
    const file = path.join(dir, `t${Math.random().toString(36).slice(2)}.json`);
    await writeFile(file, JSON.stringify(t));
    return loadTargetFile(file);
  };
  const chain = example.chains[0]!;
  const ok = await load({ ...example, chains: [{ ...chain, serverRpc: { listen: '127.0.0.1:8546' } }], capabilities: ['rpc-faults'] });
  assert.deepEqual(ok.chains[0]!.serverRpc, { listen: '127.0.0.1:8546', waitSeconds: 0 });
  assert.deepEqual(listenAddress('[::1]:8546'), { host: '::1', port: 8546 });
  await assert.rejects(load({ ...example, capabilities: ['rpc-faults'] }), /capabilities: 'rpc-faults' needs chains\[\]\.serverRpc\.listen/);
  await assert.rejects(load({ ...example, chains: [{ ...chain, serverRpc: { listen: '127.0.0.1:8546' } }] }), /serverRpc is given but the capability 'rpc-faults' is not granted/);
  for (const listen of ['127.0.0.1', '127.0.0.1:0', '127.0.0.1:70000', 'http://127.0.0.1:8546'])
    await assert.rejects(load({ ...example, chains: [{ ...chain, serverRpc: { listen } }], capabilities: ['rpc-faults'] }), /chains\[0\]\.serverRpc\.listen/, listen);
  // The reference target, assembled in code, grants rpc-faults without it (its services are handed the proxy).
  assert.deepEqual(parseTarget({ ...example, capabilities: ['rpc-faults'] }).capabilities, ['rpc-faults']);
});

test('target.schema.json is in sync with the zod schema and accepts/refuses like it', async () => {
  const file = fileURLToPath(new URL('./target.schema.json', import.meta.url));
  const committed = JSON.parse(await readFile(file, 'utf8'));
  assert.deepEqual(committed, JSON.parse(await targetSchemaText()), 'regenerate with: npm run gen (or npx tsx harness/target/export-schema.ts)');
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  const validate = ajv.compile(committed);
  assert.equal(validate(example), true, JSON.stringify(validate.errors));
  assert.equal(validate({ ...example, capabilities: ['time travel'] }), false);
  assert.equal(validate({ ...example, chains: [{ ...example.chains[0], chainId: 'one' }] }), false);
  // Protocol sections are part of the published schema.
  assert.equal(validate({ ...example, config: { agentripe: { reviewFixture: { listen: '127.0.0.1:4099' } } } }), true, JSON.stringify(validate.errors));
  assert.equal(validate({ ...example, config: { agentripe: { reviewer: 'x' } } }), false);
  assert.equal(validate({ ...example, endpoints: { x402_resource: 'http://h:1' } }), false);
});

test('the capability restart comes with a restart control for a declared endpoint, and a control with the capability', () => {
  const control = { command: 'docker kill -s KILL agr && docker start agr' };
  const ok = parseTarget({ ...example, capabilities: ['restart'], restart: { agentripe: control } });
  assert.equal(ok.restart?.agentripe?.command, control.command);
  const refused = (t: unknown) => {
    try {
      parseTarget(t);
    } catch (e) {
      assert.ok(e instanceof TargetError);
      return e.message;
    }
    assert.fail('the target was accepted');
  };
  assert.match(refused({ ...example, capabilities: ['restart'] }), /restart: the capability 'restart' needs a restart control/);
  assert.match(refused({ ...example, restart: { agentripe: control } }), /capabilities: restart controls are given but the capability 'restart' is not granted/);
  assert.match(refused({ ...example, capabilities: ['restart'], restart: { x402: control } }), /restart\.x402: no endpoint named 'x402'/);
  assert.match(refused({ ...example, capabilities: ['restart'], restart: { agentripe: { command: '' } } }), /restart\.agentripe\.command/);
});
