import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { spawnCli } from './runCli';

// `npm run admin -- ...` as a process of its own: exit codes, stdout and stderr as a shell sees them.
let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'admin-process-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

const timeout = 120_000;

void test('on the SQLite store with no service running, the CLI opens it itself', { timeout }, async () => {
  const dataDir = join(root, 'own');
  const created = await spawnCli(['account', 'create', '--name', 'Spawned', '--json'], { DATA_DIR: dataDir });
  assert.equal(created.code, 0, created.stderr);
  assert.equal(created.stderr, '');
  const { account, keys } = JSON.parse(created.stdout) as {
    account: { accountSid: string };
    keys: { keyId: string; key: string }[];
  };

  const shown = await spawnCli(['account', 'show', account.accountSid], { DATA_DIR: dataDir });
  assert.equal(shown.code, 0, shown.stderr);
  assert.match(shown.stdout, /^name {13}Spawned$/m);
  assert.match(shown.stdout, new RegExp(`^${keys[0]?.keyId}\\s+${keys[0]?.key.slice(0, 8)}…\\s+live`, 'm'));
  assert.ok(!shown.stdout.includes(keys[0]?.key ?? '-'));
});

void test(
  'bad input exits 2 with the reason on stderr and does not even create the store',
  { timeout },
  async () => {
    const dataDir = join(root, 'untouched');
    const run = await spawnCli(['account', 'create', '--ttl', '30'], { DATA_DIR: dataDir });
    assert.deepEqual(run, {
      code: 2,
      stdout: '',
      stderr: 'error: Invalid account: tokenTtlSeconds: Too small: expected number to be >=60\n',
    });
    await assert.rejects(stat(dataDir), { code: 'ENOENT' });

    const usage = await spawnCli(['key', 'rotate', 'x'], { DATA_DIR: dataDir });
    assert.equal(usage.code, 2);
    assert.equal(usage.stdout, '');
    assert.match(usage.stderr, /^error: Unknown command: key rotate\nRun `npm run admin -- help`/);
  },
);

void test('help prints every command and exits 0', { timeout }, async () => {
  const run = await spawnCli(['help'], { DATA_DIR: join(root, 'help') });
  assert.equal(run.code, 0);
  for (const command of [
    'account create',
    'account list',
    'account show',
    'account set',
    'key add',
    'key list',
    'key revoke',
    'security on',
    'security off',
    'token revoke',
  ]) {
    assert.ok(run.stdout.includes(`npm run admin -- ${command}`), command);
  }
});

void test(
  'a store file that is not a database: exit 1 with what failed, the file untouched',
  { timeout },
  async () => {
    const dataDir = join(root, 'garbage');
    await mkdir(dataDir, { recursive: true });
    const garbage = 'not a database, but someone’s notes\n'.repeat(200);
    await writeFile(join(dataDir, 'store.sqlite'), garbage, { mode: 0o600 });
    const run = await spawnCli(['account', 'list', '--json'], { DATA_DIR: dataDir });
    assert.equal(run.code, 1);
    assert.equal(run.stdout, '');
    const { error } = JSON.parse(run.stderr) as { error: { code: string; message: string } };
    assert.equal(error.code, 'store_unavailable');
    assert.match(error.message, /file is not a database \(SQLITE_NOTADB\)/);
    assert.equal(await readFile(join(dataDir, 'store.sqlite'), 'utf8'), garbage);
  },
);

void test('DATABASE_URL: a malformed value exits 2, an unreachable server exits 1', { timeout }, async () => {
  const bad = await spawnCli(['account', 'list'], { DATABASE_URL: 'mysql://db/accounts' });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /DATABASE_URL: must be a postgres:\/\/ or postgresql:\/\/ URL/);
  assert.ok(!bad.stderr.includes('mysql://db'), 'the URL (which may hold a password) is echoed');

  const down = await spawnCli(['account', 'list', '--json'], {
    DATABASE_URL: 'postgres://admin:s3cret@127.0.0.1:1/accounts',
  });
  assert.equal(down.code, 1);
  const { error } = JSON.parse(down.stderr) as { error: { code: string; message: string } };
  assert.equal(error.code, 'store_unavailable');
  assert.match(error.message, /ECONNREFUSED/);
  assert.ok(!down.stderr.includes('s3cret'));
});
