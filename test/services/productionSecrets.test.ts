import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';

/**
 * With NODE_ENV=production no process generates a secret of its own: each real entry point, started without
 * one, exits non-zero at start with a message naming the variable, and leaves its data folder empty.
 */

const root = resolve(__dirname, '../..');
const secret = () => randomBytes(32).toString('base64url');
const codecKeys = () => {
  const kid = randomUUID();
  return JSON.stringify({ current: kid, keys: { [kid]: secret() } });
};

interface Exit {
  code: number | null;
  stderr: string;
}

/** Runs an entry point until it exits; one that is still running after 30 s has started, which fails the test. */
function run(entry: string, env: NodeJS.ProcessEnv): Promise<Exit> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', entry], {
      cwd: root,
      env: { PATH: process.env.PATH, NODE_ENV: 'production', LOG_LEVEL: 'silent', HOST: '127.0.0.1', ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${entry} did not exit: it started without its secret`));
    }, 30_000);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stderr });
    });
  });
}

void describe('NODE_ENV=production: a missing secret stops the start', () => {
  let dir: string;
  let n = 0;
  /** A data folder of its own for each run, so a secret written by one cannot satisfy the next. */
  const dataDir = () => join(dir, `data-${++n}`);
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'prod-secrets-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const expectRefusal = async (entry: string, env: NodeJS.ProcessEnv, variable: string) => {
    const DATA_DIR = dataDir();
    const { code, stderr } = await run(entry, { DATA_DIR, ...env });
    assert.notEqual(code, 0, `${entry} exited 0`);
    assert.match(
      stderr,
      new RegExp(`${variable} is not set and .* does not exist\\. With NODE_ENV=production`),
    );
    // Nothing generated: the folder (if made at all) holds no secret.
    const made = await readdir(join(DATA_DIR, 'secrets')).catch(() => []);
    assert.deepEqual(made, []);
  };

  void test('SAS without SAS_AUTH_SECRET', () =>
    expectRefusal('services/scoped-auth/main.ts', { SAS_PORT: '0' }, 'SAS_AUTH_SECRET'));

  void test('SAS without a key ring in SAS_KEYS_DIR: it only reads the folder', async () => {
    const keysDir = join(dir, 'no-ring');
    const { code, stderr } = await run('services/scoped-auth/main.ts', {
      DATA_DIR: dataDir(),
      SAS_PORT: '0',
      SAS_AUTH_SECRET: secret(),
      SAS_KEYS_DIR: keysDir,
    });
    assert.equal(code, 1);
    assert.match(stderr, /No SAS key ring in .*no-ring \(SAS_KEYS_DIR\)\. .*npm run rotate-keys/);
    assert.deepEqual(await readdir(keysDir).catch(() => 'absent'), 'absent');
  });

  void test('FAS without FAS_AUTH_SECRET, then without SAS_AUTH_SECRET', async () => {
    await expectRefusal('services/federated-auth/main.ts', { FAS_PORT: '0' }, 'FAS_AUTH_SECRET');
    await expectRefusal(
      'services/federated-auth/main.ts',
      { FAS_PORT: '0', FAS_AUTH_SECRET: secret() },
      'SAS_AUTH_SECRET',
    );
  });

  void test('the worker without CODEC_KEYS, FINGERPRINT_SECRET, FAS_AUTH_SECRET, before it connects', async () => {
    // A Temporal address nobody listens on: the secrets are checked before the connection is tried.
    const base = { TEMPORAL_ADDRESS: '127.0.0.1:1', WORKER_METRICS_ADDRESS: '' };
    await expectRefusal('worker/main.ts', base, 'CODEC_KEYS');
    await expectRefusal('worker/main.ts', { ...base, CODEC_KEYS: codecKeys() }, 'FINGERPRINT_SECRET');
    await expectRefusal(
      'worker/main.ts',
      { ...base, CODEC_KEYS: codecKeys(), FINGERPRINT_SECRET: secret() },
      'FAS_AUTH_SECRET',
    );
  });

  void test('the codec server without CODEC_AUTH_TOKEN: it would decrypt live tokens for whoever calls', async () => {
    const { code, stderr } = await run('services/codec-server/main.ts', {
      DATA_DIR: dataDir(),
      CODEC_PORT: '0',
      CODEC_KEYS: codecKeys(),
    });
    assert.equal(code, 1);
    assert.match(stderr, /CODEC_AUTH_TOKEN: required with NODE_ENV=production/);
    assert.doesNotMatch(stderr, /\n\s+at /, 'a message, not a stack');
  });

  void test('the API and the codec server without CODEC_KEYS', async () => {
    await expectRefusal('api/main.ts', { API_PORT: '0', TEMPORAL_ADDRESS: '127.0.0.1:1' }, 'CODEC_KEYS');
    await expectRefusal(
      'services/codec-server/main.ts',
      { CODEC_PORT: '0', CODEC_AUTH_TOKEN: 'a-token-of-16-chars-or-more' },
      'CODEC_KEYS',
    );
    // An API running its own worker checks the worker's secrets too, before it waits for Temporal.
    await expectRefusal(
      'api/main.ts',
      {
        API_PORT: '0',
        TEMPORAL_ADDRESS: '127.0.0.1:1',
        API_RUN_WORKER: 'true',
        WORKER_METRICS_ADDRESS: '',
        CODEC_KEYS: codecKeys(),
      },
      'FINGERPRINT_SECRET',
    );
  });

  void test('a secret that is not strict base64url of 32 bytes stops the start, named and not printed', async () => {
    const short = randomBytes(31).toString('base64url');
    const { code, stderr } = await run('services/federated-auth/main.ts', {
      DATA_DIR: dataDir(),
      FAS_PORT: '0',
      FAS_AUTH_SECRET: short,
      SAS_AUTH_SECRET: secret(),
    });
    assert.equal(code, 1);
    assert.match(stderr, /FAS_AUTH_SECRET: decodes to 31 bytes; a secret must be at least 32 bytes/);
    assert.equal(stderr.includes(short), false);
  });
});
