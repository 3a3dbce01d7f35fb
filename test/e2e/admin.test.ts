import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { defaultPorts, freePorts, startStack, type Stack, type StackPorts } from '../../scripts/stack';
import { demoAccounts } from '../../store/seed';
import { spawnCli } from '../admin/runCli';
import { createTestSchema, postgresUnavailable, type TestSchema } from '../helpers/testDatabase';

/**
 * The operator's loop on a running product: the admin CLI (a process of its own) creates an account, its new
 * key gets a token through the edge, and once the CLI revokes the key the very next request is refused. Once
 * with the store on PostgreSQL (DATABASE_URL), once on the embedded store, which the stack's store process serves
 * to the worker and the CLI alike over the PostgreSQL wire protocol.
 */
function operatorLoop(
  title: string,
  skip: string | false,
  storeEnv: () => Promise<{ env: NodeJS.ProcessEnv; drop: () => Promise<void> }>,
) {
  void describe(title, { skip }, () => {
    let stack: Stack | undefined;
    let dataDir: string;
    let env: NodeJS.ProcessEnv;
    let drop: () => Promise<void> = async () => {};
    const logs: string[] = [];

    before(async () => {
      dataDir = await mkdtemp(join(tmpdir(), 'webchat-admin-e2e-'));
      ({ env, drop } = await storeEnv());
      env = { ...env, DATA_DIR: dataDir };
      stack = await startStack({
        ports: await freeStackPorts(),
        dataDir,
        env,
        output: (name, line) => logs.push(`[${name}] ${line}`),
      });
    });

    after(async () => {
      await stack?.stop();
      await drop();
      await rm(dataDir, { recursive: true, force: true });
    });

    const token = (deploymentKey: string) =>
      fetch(`${stack?.urls.edge}/v2/Webchat/Token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ deploymentKey }),
      });

    void test('the demo accounts were seeded into the empty store', async () => {
      const res = await token('dk_demo_open');
      assert.equal(res.status, 200, await res.clone().text());
    });

    void test('a key made by the CLI gets a token; once revoked by the CLI, the next request is 403', async () => {
      const created = await spawnCli(['account', 'create', '--name', 'E2E shop', '--json'], env);
      assert.equal(created.code, 0, created.stderr);
      const { account, keys } = JSON.parse(created.stdout) as {
        account: { accountSid: string };
        keys: { keyId: string; key: string }[];
      };
      const [key] = keys;
      assert.ok(key);

      const issued = await token(key.key);
      assert.equal(issued.status, 200, await issued.clone().text());
      const body = (await issued.json()) as { token: string; identity: string; expiration: string };
      assert.deepEqual(Object.keys(body).sort(), ['expiration', 'identity', 'token']);

      const revoked = await spawnCli(['key', 'revoke', key.keyId], env);
      assert.equal(revoked.code, 0, revoked.stderr);
      assert.match(revoked.stdout, new RegExp(`^Revoked ${key.keyId} .* of ${account.accountSid} at `));

      const refused = await token(key.key);
      assert.equal(refused.status, 403);
      assert.equal(((await refused.json()) as { code: string }).code, 'invalid_deployment_key');

      const listed = await spawnCli(['account', 'list', '--json'], env);
      assert.equal(listed.code, 0, listed.stderr);
      const { accounts } = JSON.parse(listed.stdout) as { accounts: { accountSid: string }[] };
      const sids = accounts.map((a) => a.accountSid);
      assert.deepEqual(sids, [...demoAccounts.map((d) => d.accountSid), account.accountSid]);
    });

    void test('after a worker restart, the CLI and the token path still share one store', async () => {
      await stack?.restart('worker');
      const created = await spawnCli(['account', 'create', '--name', 'After restart', '--json'], env);
      assert.equal(created.code, 0, created.stderr);
      const { keys } = JSON.parse(created.stdout) as { keys: { key: string }[] };
      const issued = await token(keys[0]?.key ?? '');
      assert.equal(issued.status, 200, await issued.clone().text());
      const listed = await spawnCli(['account', 'list'], env);
      assert.equal(listed.code, 0, listed.stderr);
      assert.match(listed.stdout, /After restart/);
    });
  });
}

async function freeStackPorts(): Promise<StackPorts> {
  // Every service the stack knows gets a free port, whatever services it grows.
  const names = Object.keys(defaultPorts) as (keyof StackPorts)[];
  const ports = await freePorts(names.length);
  return Object.fromEntries(names.map((name, i) => [name, ports[i]])) as unknown as StackPorts;
}

operatorLoop(
  'the admin CLI against make start on PostgreSQL (DATABASE_URL)',
  postgresUnavailable() ?? false,
  async () => {
    const schema: TestSchema = await createTestSchema('e2e');
    return { env: { DATABASE_URL: schema.url }, drop: () => schema.drop() };
  },
);

operatorLoop('the admin CLI against make start on the embedded store, through its store process', false, () =>
  Promise.resolve({ env: {}, drop: async () => {} }),
);
