import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { decodeProtectedHeader } from 'jose';
import { createServiceCredentials } from '../../../lib/serviceAuth';
import { postAsService } from '../../../scripts/stack/serviceAuthorization';
import { freePorts, terminate, waitForHttp } from '../../../scripts/stack';
import { createTestSchema, postgresUnavailable, type TestSchema } from '../../helpers/testDatabase';

/**
 * Two SAS processes of one deployment (NODE_ENV=production, secrets by value) share one key folder, which only
 * `npm run rotate-keys` writes: a token minted after a rotation validates at both within SAS_KEYS_RELOAD_MS.
 * They share one session store too (`DATABASE_URL`), as every SAS of a deployment must, so that a revocation or
 * a refresh recorded by one holds at the other.
 */

const root = resolve(__dirname, '../../..');
const RELOAD_MS = 300;
const accountSid = 'AC0123456789abcdef0123456789abcdef';
const grants = { webchat: { addressSid: 'IS0123456789abcdef0123456789abcdef' } };
const authSecret = randomBytes(32).toString('base64url');
const asFas = createServiceCredentials({
  issuer: 'federated-auth',
  audience: 'scoped-auth',
  secret: Buffer.from(authSecret, 'base64url'),
});

void describe('SAS instances sharing SAS_KEYS_DIR', { skip: postgresUnavailable() ?? false }, () => {
  let dir: string;
  let schema: TestSchema;
  let keysDir: string;
  const urls: string[] = [];
  const children: ChildProcess[] = [];

  const rotateKeys = () =>
    promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/rotate-keys.ts'], {
      cwd: root,
      env: {
        PATH: process.env.PATH,
        NODE_ENV: 'production',
        SAS_KEYS_DIR: keysDir,
        DATA_DIR: join(dir, 'cli'),
      },
    });
  const currentKids = async () => {
    const ring = JSON.parse(await readFile(join(keysDir, 'keyring.json'), 'utf8')) as {
      signing: { kid: string }[];
      encryption: { kid: string }[];
    };
    return { signing: ring.signing[0]!.kid, encryption: ring.encryption[0]!.kid };
  };
  const post = async (url: string, body: unknown) => {
    const res = await postAsService(asFas, url, body);
    assert.equal(res.status, 200);
    return (await res.json()) as Record<string, unknown>;
  };
  const mint = async (sas: string) =>
    (await post(`${sas}/v1/ScopedAuthTokens/generate/internal`, {
      accountSid,
      grants,
      ttl: 600,
      encrypt: true,
    })) as {
      token: string;
      identity: string;
    };
  const validate = (sas: string, token: string) => post(`${sas}/v1/ScopedAuthTokens/validate`, { token });
  const firstJwk = async (sas: string) =>
    ((await (await fetch(`${sas}/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] }).keys[0]
      ?.kid;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sas-shared-'));
    schema = await createTestSchema('sas_shared');
    keysDir = join(dir, 'keys');
    // A new deployment: the ring is made once, outside every SAS.
    assert.match((await rotateKeys()).stdout, /Created a key ring in /);
    const created = JSON.parse(await readFile(join(keysDir, 'keyring.json'), 'utf8')) as {
      signing: unknown[];
    };
    assert.equal(created.signing.length, 1, 'a new ring holds one key pair, not a rotated one');
    const ports = await freePorts(2);
    for (const [i, port] of ports.entries()) {
      const child = spawn(process.execPath, ['--import', 'tsx', 'services/scoped-auth/main.ts'], {
        cwd: root,
        env: {
          PATH: process.env.PATH,
          NODE_ENV: 'production',
          LOG_LEVEL: 'silent',
          HOST: '127.0.0.1',
          SAS_PORT: String(port),
          DATA_DIR: join(dir, `sas-${i}`),
          SAS_KEYS_DIR: keysDir,
          SAS_KEYS_RELOAD_MS: String(RELOAD_MS),
          SAS_AUTH_SECRET: authSecret,
          DATABASE_URL: schema.url,
        },
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      children.push(child);
      urls.push(`http://127.0.0.1:${port}`);
    }
    await Promise.all(urls.map((url, i) => waitForHttp(`${url}/healthz`, children[i]!)));
  });
  after(async () => {
    await Promise.all(children.map((c) => terminate(c)));
    await rm(dir, { recursive: true, force: true });
    await schema?.drop();
  });

  void test('a token minted after rotate-keys, at either instance, validates at both', async () => {
    const [a, b] = urls as [string, string];
    const before = await currentKids();
    const old = await mint(a);
    assert.equal((await validate(b, old.token)).identity, old.identity);

    assert.match((await rotateKeys()).stdout, /Rotated the keys in /);
    const rotatedAt = Date.now();
    const after = await currentKids();
    assert.notEqual(after.signing, before.signing);

    // Each instance serves the new ring within SAS_KEYS_RELOAD_MS (plus the time of one read and import).
    for (const sas of urls) {
      while ((await firstJwk(sas)) !== after.signing) {
        assert.ok(Date.now() - rotatedAt < RELOAD_MS + 1000, `${sas} did not reload within ${RELOAD_MS} ms`);
        await new Promise((r) => setTimeout(r, 20));
      }
    }

    for (const [minter, other] of [
      [a, b],
      [b, a],
    ] as const) {
      const fresh = await mint(minter);
      assert.equal(decodeProtectedHeader(fresh.token).kid, after.encryption);
      assert.equal((await validate(minter, fresh.token)).identity, fresh.identity);
      assert.equal((await validate(other, fresh.token)).identity, fresh.identity);
    }
    // Tokens from before the rotation stay valid at both: the old keys are previous keys now.
    for (const sas of urls) assert.equal((await validate(sas, old.token)).identity, old.identity);
    // The instances only read: no secret or key of their own in their data folders.
    for (const i of [0, 1]) assert.deepEqual(await readdir(join(dir, `sas-${i}`)).catch(() => []), []);
  });
});
