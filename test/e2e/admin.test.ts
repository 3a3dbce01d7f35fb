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
 * key gets a token through the edge, and once the CLI revokes the key the very next request is refused; admin
 * writes while tokens are issued and refreshed fail nothing. Once with the store on PostgreSQL (DATABASE_URL),
 * once on the SQLite file that the worker, SAS and the CLI each open themselves.
 */
function operatorLoop(
  title: string,
  skip: string | false,
  storeEnv: () => Promise<{ env: NodeJS.ProcessEnv; drop: () => Promise<void> }>,
  { restartWholeStack = false } = {},
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
      stack = await start();
    });

    // One client address sends everything here: the abuse limits are off.
    const start = async () =>
      startStack({
        ports: await freeStackPorts(),
        dataDir,
        env: {
          ...env,
          RATE_LIMIT_IP_POINTS: '0',
          RATE_LIMIT_KEY_POINTS: '0',
          RATE_LIMIT_KEY_TOTAL_POINTS: '0',
        },
        output: (name, line) => logs.push(`[${name}] ${line}`),
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
    const refresh = (deploymentKey: string, previous: string) =>
      fetch(`${stack?.urls.edge}/v2/Webchat/Token/Refresh`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ deploymentKey, token: previous }),
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

    void test('issuance, 20 refresh chains and admin writes at once: no 5xx, no failed command, no lock error', async () => {
      const statuses: number[] = [];
      const record = async (res: Response) => {
        statuses.push(res.status);
        return res.status === 200
          ? ((await res.json()) as { token: string })
          : (await res.body?.cancel(), null);
      };
      let loading = true;
      const issuance = (async () => {
        while (loading) {
          await record(await token('dk_demo_open'));
          await new Promise((r) => setTimeout(r, 150));
        }
      })();
      const chains = Array.from({ length: 20 }, async () => {
        let current = await record(await token('dk_demo_open'));
        for (let i = 0; i < 4 && current; i++)
          current = await record(await refresh('dk_demo_open', current.token));
        assert.ok(current, 'every refresh of the chain answered 200');
      });
      const admin = [0, 1].map(async (lane) => {
        const runs = [];
        for (let i = 0; i < 3; i++) {
          const created = await spawnCli(['account', 'create', '--name', `Busy ${lane}.${i}`, '--json'], env);
          runs.push(created);
          if (created.code !== 0) continue;
          const { account } = JSON.parse(created.stdout) as { account: { accountSid: string } };
          runs.push(await spawnCli(['security', 'on', account.accountSid], env));
          runs.push(await spawnCli(['account', 'set', account.accountSid, '--ttl', '900'], env));
        }
        return runs;
      });
      const adminRuns = (await Promise.all(admin)).flat();
      await Promise.all(chains);
      loading = false;
      await issuance;

      for (const run of adminRuns) assert.equal(run.code, 0, run.stderr);
      assert.deepEqual(
        statuses.filter((s) => s >= 500),
        [],
        `answers: ${JSON.stringify(statuses)}`,
      );
      assert.ok(statuses.length >= 20 * 5, `${statuses.length} answers`);
      const lockErrors = [...logs, ...adminRuns.map((r) => r.stderr)].filter((l) =>
        /database is locked|SQLITE_BUSY/i.test(l),
      );
      assert.deepEqual(lockErrors, []);
    });

    void test('after a restart of the API and its worker, the CLI and the token path still share one store', async () => {
      await stack?.restart('api');
      const created = await spawnCli(['account', 'create', '--name', 'After restart', '--json'], env);
      assert.equal(created.code, 0, created.stderr);
      const { keys } = JSON.parse(created.stdout) as { keys: { key: string }[] };
      const issued = await token(keys[0]?.key ?? '');
      assert.equal(issued.status, 200, await issued.clone().text());
      const listed = await spawnCli(['account', 'list'], env);
      assert.equal(listed.code, 0, listed.stderr);
      assert.match(listed.stdout, /After restart/);
    });

    if (restartWholeStack) {
      void test('with the stack stopped the CLI lists the accounts; started again, their keys still issue', async () => {
        const created = await spawnCli(['account', 'create', '--name', 'Survivor', '--json'], env);
        assert.equal(created.code, 0, created.stderr);
        const { keys } = JSON.parse(created.stdout) as { keys: { key: string }[] };
        await stack?.stop();
        stack = undefined;

        const listed = await spawnCli(['account', 'list'], env);
        assert.equal(listed.code, 0, listed.stderr);
        assert.match(listed.stdout, /Survivor/);

        stack = await start();
        const issued = await token(keys[0]?.key ?? '');
        assert.equal(issued.status, 200, await issued.clone().text());
      });
    }
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

operatorLoop(
  'the admin CLI against make start on the SQLite store',
  false,
  () => Promise.resolve({ env: {}, drop: async () => {} }),
  { restartWholeStack: true },
);
