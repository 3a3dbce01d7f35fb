import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { type AccountStore } from '../../store/accountStore';
import { connectStore } from '../../store/connectStore';
import { openStore } from '../../store/openStore';
import { serveStore, type StoreServer } from '../../store/serveStore';

// The store a running worker serves to the admin CLI: same answers, same errors, reachable by its owner only.
let dir: string;
let store: AccountStore;
let server: StoreServer;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'serve-store-'));
  store = await openStore({ dataDir: null });
  // A socket file left by a crashed holder must not stop the next one.
  await mkdir(join(dir, 'run'));
  await writeFile(join(dir, 'run', 'accounts.sock'), '');
  server = await serveStore(store, join(dir, 'run', 'accounts.sock'));
});

after(async () => {
  await server.close();
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

void test('the socket is 0600 in a 0700 folder', async () => {
  assert.equal((await stat(server.path)).mode & 0o777, 0o600);
  assert.equal((await stat(dirname(server.path))).mode & 0o777, 0o700);
});

void test('a remote call answers as the store does, dates included; errors keep their code', async () => {
  const remote = await connectStore(server.path);
  try {
    const { account, keys } = await remote.createAccount({ deploymentKeys: ['remote-key-0001'] });
    assert.deepEqual(await remote.getAccount(account.accountSid), await store.getAccount(account.accountSid));
    assert.ok(account.createdAt instanceof Date);
    const [key] = keys;
    assert.ok(key);
    const revoked = await remote.revokeDeploymentKey(key.keyId);
    assert.ok(revoked.revokedAt instanceof Date);
    assert.equal(await store.resolveDeploymentKey('remote-key-0001'), null);
    await assert.rejects(remote.createAccount({ tokenTtlSeconds: 5 }), {
      name: 'StoreError',
      code: 'invalid_input',
      message: /tokenTtlSeconds/,
    });
    await assert.rejects(remote.addDeploymentKey('AC' + '0'.repeat(32)), { code: 'account_not_found' });
  } finally {
    await remote.close();
  }
});

void test('only the admin methods can be called', async () => {
  const reply = await new Promise<string>((resolve, reject) => {
    const socket = connect(server.path);
    socket.setEncoding('utf8');
    let data = '';
    socket.on('data', (d: string) => {
      data += d;
      if (data.includes('\n')) {
        socket.end();
        resolve(data.trim());
      }
    });
    socket.on('error', reject);
    socket.write(`${JSON.stringify({ id: 7, method: 'close', args: [] })}\n`);
  });
  assert.deepEqual(JSON.parse(reply), {
    id: 7,
    error: { code: 'bad_request', message: 'Unknown method close' },
  });
  assert.deepEqual(await store.listAccounts().then((a) => a.length > 0), true);
});

void test('closing removes the socket; a client then gets the socket error', async () => {
  const other = await serveStore(store, join(dir, 'other.sock'));
  await other.close();
  await assert.rejects(stat(other.path), { code: 'ENOENT' });
  await assert.rejects(connectStore(other.path), { code: 'ENOENT' });
});
