import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { decodeProtectedHeader, type JWK } from 'jose';
import { createLogger } from '../../../lib/logger';
import { createServiceCredentials } from '../../../lib/serviceAuth';
import { postAsService } from '../../../scripts/stack/serviceAuthorization';
import type { ScopedAuthConfig } from '../../../services/scoped-auth/config';
import { loadOrCreateKeys } from '../../../services/scoped-auth/keys';
import { retireKeys, rotateKeys } from '../../../services/scoped-auth/rotateKeys';
import { startScopedAuth, type ScopedAuthService } from '../../../services/scoped-auth/start';
import { inMemorySessions } from '../../helpers/sessions';

const accountSid = 'AC0123456789abcdef0123456789abcdef';
const grants = { webchat: { addressSid: 'IS0123456789abcdef0123456789abcdef' } };
const authSecret = randomBytes(32).toString('base64url');
const asFas = createServiceCredentials({
  issuer: 'federated-auth',
  audience: 'scoped-auth',
  secret: Buffer.from(authSecret, 'base64url'),
});
const root = resolve(__dirname, '../../..');

function config(keysDir: string, keysReloadMs = 0): ScopedAuthConfig {
  return {
    host: '127.0.0.1',
    port: 0,
    keysDir,
    keysReloadMs,
    createKeys: true,
    sessions: inMemorySessions,
    authSecret: { value: authSecret, file: join(keysDir, 'unused') },
    issuer: 'urn:webchat:scoped-auth',
    audience: 'urn:webchat:widget',
    logLevel: 'silent',
  };
}

async function post(url: string, body: unknown) {
  const res = await postAsService(asFas, url, body);
  assert.equal(res.status, 200);
  return (await res.json()) as Record<string, unknown>;
}

interface Ring {
  signing: (JWK & { kid: string; x: string })[];
  encryption: (JWK & { kid: string })[];
}
const readRing = async (keysDir: string) =>
  JSON.parse(await readFile(join(keysDir, 'keyring.json'), 'utf8')) as Ring;

void describe('key rotation on a running SAS', () => {
  let dir: string;
  let keysDir: string;
  let sas: ScopedAuthService;
  const issue = async (fingerprint?: string) =>
    (await post(`${sas.url}/v1/ScopedAuthTokens/generate/internal`, {
      accountSid,
      grants,
      ttl: 3600,
      encrypt: true,
      ...(fingerprint ? { fingerprint, fingerprintLevel: 'medium' } : {}),
    })) as { token: string; identity: string };
  const validate = (token: string, fingerprint?: string) =>
    post(`${sas.url}/v1/ScopedAuthTokens/validate`, { token, ...(fingerprint ? { fingerprint } : {}) });
  const jwks = async () =>
    (await (await fetch(`${sas.url}/.well-known/jwks.json`)).json()) as { keys: JWK[] };
  const publicJwk = (k: Ring['signing'][number]) => ({
    kty: 'OKP',
    crv: 'Ed25519',
    x: k.x,
    kid: k.kid,
    alg: 'EdDSA',
    use: 'sig',
  });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sas-rotation-'));
    keysDir = join(dir, 'keys');
    sas = await startScopedAuth(config(keysDir), createLogger('test', 'silent'));
  });
  after(async () => {
    await sas.close();
    await rm(dir, { recursive: true, force: true });
  });

  void test('mint, rotate, validate old and new, retire, old refused; JWKS at each step', async () => {
    const first = await readRing(keysDir);
    const [oldSigning] = first.signing;
    const [oldEncryption] = first.encryption;
    assert.ok(oldSigning && oldEncryption);
    assert.deepEqual(await jwks(), { keys: [publicJwk(oldSigning)] });
    const old = await issue('v1.fp-old');
    const oldUnbound = await issue();

    const rotated = await rotateKeys(keysDir);
    assert.equal(await sas.reloadKeys(), true);
    const second = await readRing(keysDir);
    assert.equal(second.signing.length, 2);
    assert.equal(second.encryption.length, 2);
    const [newSigning, previousSigning] = second.signing;
    const [newEncryption, previousEncryption] = second.encryption;
    assert.ok(newSigning && newEncryption);
    assert.deepEqual(rotated.signingKids, [newSigning.kid, oldSigning.kid]);
    assert.deepEqual(previousSigning, oldSigning);
    assert.deepEqual(previousEncryption, oldEncryption);
    assert.notEqual(newSigning.kid, oldSigning.kid);
    assert.notEqual(newEncryption.kid, oldEncryption.kid);
    assert.deepEqual(await jwks(), { keys: [publicJwk(newSigning), publicJwk(oldSigning)] });

    const fresh = await issue('v1.fp-new');
    assert.equal(decodeProtectedHeader(fresh.token).kid, newEncryption.kid);
    assert.equal(decodeProtectedHeader(old.token).kid, oldEncryption.kid);
    assert.equal((await validate(old.token, 'v1.fp-old')).identity, old.identity);
    assert.equal((await validate(oldUnbound.token)).identity, oldUnbound.identity);
    assert.equal((await validate(fresh.token, 'v1.fp-new')).identity, fresh.identity);
    // Rotation changes keys, not rules: the old bound token still needs its own fingerprint.
    assert.deepEqual(await validate(old.token, 'v1.fp-new'), {
      authorized: false,
      message: 'fingerprint_validation_failed',
    });

    const retired = await retireKeys(keysDir);
    assert.equal(retired.retired, 2);
    assert.equal(retired.retiredTooSoon, true);
    assert.equal(await sas.reloadKeys(), true);
    assert.deepEqual(await jwks(), { keys: [publicJwk(newSigning)] });
    const third = await readRing(keysDir);
    assert.deepEqual(third.signing, [newSigning]);
    assert.deepEqual(third.encryption, [newEncryption]);
    for (const token of [old.token, oldUnbound.token]) {
      assert.deepEqual(await validate(token, 'v1.fp-old'), {
        authorized: false,
        message: 'token_validation_failed',
      });
    }
    assert.equal((await validate(fresh.token, 'v1.fp-new')).identity, fresh.identity);
  });

  void test('reload without a change keeps the ring; a broken ring file is logged and ignored', async () => {
    assert.equal(await sas.reloadKeys(), false);
    const before = await jwks();
    const issued = await issue();
    await writeFile(join(keysDir, 'keyring.json'), '{"version":1,', { mode: 0o600 });
    assert.equal(await sas.reloadKeys(), false);
    assert.deepEqual(await jwks(), before);
    assert.equal((await validate(issued.token)).identity, issued.identity);
  });
});

void describe('key ring file', () => {
  void test('a running SAS picks a rotation up by itself within SAS_KEYS_RELOAD_MS', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sas-rotation-'));
    const sas = await startScopedAuth(config(dir, 50), createLogger('test', 'silent'));
    try {
      const { signingKids } = await rotateKeys(dir);
      const deadline = Date.now() + 10_000;
      let kids: unknown[] = [];
      while (Date.now() < deadline) {
        kids = ((await (await fetch(`${sas.url}/.well-known/jwks.json`)).json()) as { keys: JWK[] }).keys.map(
          (k) => k.kid,
        );
        if (kids.length === 2) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.deepEqual(kids, signingKids);
    } finally {
      await sas.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  void test('npm run rotate-keys and --retire, on the folder SAS_KEYS_DIR names', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sas-rotation-'));
    const run = (...args: string[]) =>
      promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/rotate-keys.ts', ...args], {
        cwd: root,
        env: { ...process.env, SAS_KEYS_DIR: dir, DATA_DIR: dir },
      });
    try {
      const before = await loadOrCreateKeys(dir);
      const rotated = await run();
      assert.match(rotated.stdout, /Rotated the keys/);
      const ring = await readRing(dir);
      assert.equal(ring.signing.length, 2);
      assert.equal(ring.signing[1]?.kid, before.current.signing.kid);
      assert.match(rotated.stdout, new RegExp(`Current signing kid ${ring.signing[0]?.kid}`));
      // The output names kids only: no key material on a terminal.
      for (const key of [...ring.signing.map((k) => k.d), ...ring.encryption.map((k) => k.k)]) {
        assert.equal(rotated.stdout.includes(String(key)), false);
      }

      const retired = await run('--retire');
      assert.match(retired.stdout, /Retired 2 previous key\(s\)/);
      assert.match(retired.stderr, /less than 24 h ago/);
      assert.equal((await readRing(dir)).signing.length, 1);
      assert.match((await run('--retire')).stdout, /nothing retired/);
      await assert.rejects(run('--force'), /Unknown argument --force/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  void test('a rotation in progress blocks a second one, with a message that says what to do', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sas-rotation-'));
    try {
      await loadOrCreateKeys(dir);
      await writeFile(join(dir, 'keyring.lock'), '1\n', { flag: 'wx' });
      await assert.rejects(rotateKeys(dir), /Another rotation holds .*keyring\.lock.*delete that file/);
      assert.equal((await readRing(dir)).signing.length, 1);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
