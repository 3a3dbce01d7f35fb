import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { access, chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { loadCodecKeys } from '../../lib/secrets/codecKeys';
import { decodeSecret, loadSecret } from '../../lib/secrets/secret';
import { loadFederatedAuthConfig } from '../../services/federated-auth/config';
import { loadWorkerConfig } from '../../worker/config';

const b64u = (bytes: number) => randomBytes(bytes).toString('base64url');

void describe('secrets: value from the environment, or a file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'secrets-'));
  after(() => rm(dir, { recursive: true, force: true }));

  void test('strict decoding: canonical base64url of 32 bytes or more is the bytes it encodes', () => {
    const bytes = randomBytes(48);
    assert.deepEqual(decodeSecret(bytes.toString('base64url'), 'X'), bytes);
    assert.equal(decodeSecret(b64u(32), 'X').length, 32);
  });

  void test('too short: the error names the variable and the length, never the value', () => {
    const value = b64u(16);
    assert.throws(
      () => decodeSecret(value, 'FAS_AUTH_SECRET'),
      (err: Error) => {
        assert.equal(err.message, 'FAS_AUTH_SECRET decodes to 16 bytes; a secret must be at least 32 bytes');
        assert.equal(err.message.includes(value), false);
        return true;
      },
    );
  });

  void test('bad characters: standard base64, padding, whitespace and non-canonical tails are refused', () => {
    const good = b64u(32); // 43 characters; the last one carries 2 bits and 4 zero bits
    const standard = randomBytes(33).toString('base64'); // 44 characters, likely holding + or /
    const cases = {
      plus: good.slice(0, -1) + '+',
      slash: good.slice(0, 10) + '/' + good.slice(11),
      padding: good + '=',
      space: good.slice(0, 20) + ' ' + good.slice(20),
      newline: good + '\n',
      standardBase64: standard.replace(/[^+/]/, '+'),
      empty: '',
    };
    for (const [name, value] of Object.entries(cases)) {
      assert.throws(
        () => decodeSecret(value, 'SAS_AUTH_SECRET'),
        /^Error: SAS_AUTH_SECRET is not base64url: only A-Z, a-z, 0-9, "-" and "_" are allowed/,
        name,
      );
    }
    // Same alphabet, but trailing bits set: Buffer.from would silently drop them.
    const last = good.at(-1)!;
    const mangled = good.slice(0, -1) + (last === 'B' ? 'C' : 'B');
    assert.notEqual(Buffer.from(mangled, 'base64url').toString('base64url'), mangled);
    assert.throws(() => decodeSecret(mangled, 'FINGERPRINT_SECRET'), /FINGERPRINT_SECRET is not canonical/);
  });

  void test('the environment wins over the file, even over one that could not be used', async () => {
    const file = join(dir, 'wins', 'fas-auth.key');
    const fromFile = await loadSecret({ variable: 'FAS_AUTH_SECRET', file });
    const value = b64u(32);
    const secret = await loadSecret({ variable: 'FAS_AUTH_SECRET', value, file });
    assert.deepEqual(secret, Buffer.from(value, 'base64url'));
    assert.notDeepEqual(secret, fromFile);
    await chmod(file, 0o644);
    assert.deepEqual(await loadSecret({ variable: 'FAS_AUTH_SECRET', value, file }), secret);
    // A value given is never written anywhere.
    assert.equal((await readFile(file, 'utf8')).trim(), fromFile.toString('base64url'));
  });

  void test('a file its group or others can read is refused, for secrets and codec keys alike', async () => {
    const secretFile = join(dir, 'open', 'fingerprint.key');
    await loadSecret({ file: secretFile });
    await chmod(secretFile, 0o640);
    await assert.rejects(
      loadSecret({ variable: 'FINGERPRINT_SECRET', file: secretFile }),
      /fingerprint\.key is accessible by group or others \(mode 640\); chmod 600 it/,
    );
    const codecFile = join(dir, 'open', 'codec-keys.json');
    await loadCodecKeys({ file: codecFile });
    await chmod(codecFile, 0o604);
    await assert.rejects(
      loadCodecKeys({ file: codecFile }),
      /codec-keys\.json is accessible by group or others \(mode 604\)/,
    );
  });

  void test('atomic create: concurrent first starts agree on one secret, mode 0600, no temporary files', async () => {
    const file = join(dir, 'race', 'sas-auth.key');
    const secrets = await Promise.all(Array.from({ length: 8 }, () => loadSecret({ file })));
    for (const s of secrets) assert.deepEqual(s, secrets[0]);
    assert.equal(secrets[0]?.length, 32);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.equal((await stat(join(dir, 'race'))).mode & 0o777, 0o700);
    assert.deepEqual(await readdir(join(dir, 'race')), ['sas-auth.key']);
    assert.deepEqual(await loadSecret({ file }), secrets[0]);
  });

  void test('a file holding a bad secret stops the start, naming the file and variable, not the content', async () => {
    const file = join(dir, 'short.key');
    await writeFile(file, 'c2hvcnQ\n', { mode: 0o600 });
    await assert.rejects(loadSecret({ variable: 'FINGERPRINT_SECRET', file }), (err: Error) => {
      assert.match(err.message, /short\.key \(FINGERPRINT_SECRET\) decodes to 5 bytes/);
      assert.equal(err.message.includes('c2hvcnQ'), false);
      return true;
    });
    // A trailing newline (echo, secret mounts) is not part of the secret.
    const value = b64u(32);
    await writeFile(join(dir, 'newline.key'), `${value}\n`, { mode: 0o600 });
    assert.deepEqual(await loadSecret({ file: join(dir, 'newline.key') }), Buffer.from(value, 'base64url'));
  });

  void test('without create (production) a missing secret stops the start, names the variable, writes nothing', async () => {
    const file = join(dir, 'prod', 'fas-auth.key');
    await assert.rejects(
      loadSecret({ variable: 'FAS_AUTH_SECRET', file, create: false }),
      /^Error: FAS_AUTH_SECRET is not set and .*fas-auth\.key does not exist\. With NODE_ENV=production/,
    );
    await assert.rejects(access(file), { code: 'ENOENT' });
    await assert.rejects(
      loadCodecKeys({ file: join(dir, 'prod', 'codec-keys.json'), create: false }),
      /^Error: CODEC_KEYS is not set and .*codec-keys\.json does not exist/,
    );
  });
});

void describe('secrets in the config schemas', () => {
  void test('a bad value stops the parse with a message naming the variable, not quoting it', () => {
    const short = b64u(20);
    assert.throws(
      () => loadFederatedAuthConfig({ FAS_AUTH_SECRET: short }),
      (err: Error) => {
        assert.match(err.message, /FAS_AUTH_SECRET: decodes to 20 bytes; a secret must be at least 32 bytes/);
        assert.equal(err.message.includes(short), false);
        return true;
      },
    );
    assert.throws(
      () => loadWorkerConfig({ FINGERPRINT_SECRET: 'not/base64url' }),
      /FINGERPRINT_SECRET: is not base64url/,
    );
    const key = b64u(16);
    assert.throws(
      () => loadWorkerConfig({ CODEC_KEYS: JSON.stringify({ current: 'a', keys: { a: key } }) }),
      (err: Error) => {
        assert.match(err.message, /CODEC_KEYS: each key must be 32 bytes of canonical base64url/);
        assert.equal(err.message.includes(key), false);
        return true;
      },
    );
    assert.throws(() => loadWorkerConfig({ CODEC_KEYS: '{"current":' }), /CODEC_KEYS: .*not valid JSON/);
  });

  void test('each secret has its file under DATA_DIR/secrets, created only outside production', () => {
    const dev = loadWorkerConfig({ DATA_DIR: '/d' });
    assert.deepEqual(dev.fingerprintSecret, {
      variable: 'FINGERPRINT_SECRET',
      value: undefined,
      file: '/d/secrets/fingerprint.key',
      create: true,
    });
    assert.deepEqual(dev.codecKeys, { value: undefined, file: '/d/secrets/codec-keys.json', create: true });
    const value = b64u(32);
    const prod = loadWorkerConfig({
      DATA_DIR: '/d',
      NODE_ENV: 'production',
      FAS_AUTH_SECRET: value,
      FINGERPRINT_SECRET_FILE: '/run/secrets/fp',
    });
    assert.deepEqual(prod.fasAuthSecret, {
      variable: 'FAS_AUTH_SECRET',
      value,
      file: '/d/secrets/fas-auth.key',
      create: false,
    });
    assert.equal(prod.fingerprintSecret.file, '/run/secrets/fp');
    assert.equal(prod.codecKeys.create, false);
    // An empty variable (FOO= in an env file) is the same as an unset one.
    assert.equal(loadWorkerConfig({ FAS_AUTH_SECRET: '' }).fasAuthSecret.value, undefined);
  });

  void test('demo accounts: seeded by default, not in production unless SEED_DEMO_ACCOUNTS=true', () => {
    assert.equal(loadWorkerConfig({}).SEED_DEMO_ACCOUNTS, true);
    assert.equal(loadWorkerConfig({ SEED_DEMO_ACCOUNTS: 'false' }).SEED_DEMO_ACCOUNTS, false);
    assert.equal(loadWorkerConfig({ NODE_ENV: 'production' }).SEED_DEMO_ACCOUNTS, false);
    assert.equal(
      loadWorkerConfig({ NODE_ENV: 'production', SEED_DEMO_ACCOUNTS: 'true' }).SEED_DEMO_ACCOUNTS,
      true,
    );
  });
});
