import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { loadOrCreateSecret } from '../../lib/secretFile';

describe('loadOrCreateSecret', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'secret-'));
  after(() => rm(dir, { recursive: true, force: true }));

  test('creates a 32-byte secret with mode 0600 once, then reads the same one', async () => {
    const path = join(dir, 'a', 'fingerprint.key');
    const first = await loadOrCreateSecret(path);
    assert.equal(first.length, 32);
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.deepEqual(await loadOrCreateSecret(path), first);
  });

  test('concurrent first starts agree on one secret and leave no temporary files', async () => {
    const path = join(dir, 'b', 'fingerprint.key');
    const secrets = await Promise.all(Array.from({ length: 8 }, () => loadOrCreateSecret(path)));
    for (const s of secrets) assert.deepEqual(s, secrets[0]);
    assert.deepEqual(await readdir(join(dir, 'b')), ['fingerprint.key']);
  });

  test('a file that does not hold a secret of the right size stops the start, without printing it', async () => {
    const path = join(dir, 'short.key');
    await writeFile(path, 'c2hvcnQ\n', { mode: 0o600 });
    await assert.rejects(loadOrCreateSecret(path), (err: Error) => {
      assert.match(err.message, /does not hold a 32-byte secret/);
      assert.ok(!err.message.includes('c2hvcnQ'));
      return true;
    });
  });
});
