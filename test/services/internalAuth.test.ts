import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { SignJWT, UnsecuredJWT } from 'jose';
import type { Served } from '../../lib/http/serve';
import { createLogger } from '../../lib/logger';
import { createServiceCredentials, type ServiceName } from '../../lib/serviceAuth';
import { startFederatedAuth } from '../../services/federated-auth/start';
import { startScopedAuth, type ScopedAuthService } from '../../services/scoped-auth/start';
import { inMemorySessions } from '../helpers/sessions';

/**
 * FAS accepts only the orchestrator, SAS only FAS: every other caller gets 401 `unauthorized`, before its
 * body is read, and nothing is minted. Both services run for real, over HTTP, with their own secrets.
 */
const accountSid = 'AC0123456789abcdef0123456789abcdef';
const grants = { webchat: { addressSid: 'IS0123456789abcdef0123456789abcdef' } };
const fasSecret = randomBytes(32);
const sasSecret = randomBytes(32);
const unauthorized = { code: 'unauthorized', message: 'A valid service credential is required.' };

const credential = async (issuer: ServiceName, audience: ServiceName, secret: Uint8Array) =>
  (await createServiceCredentials({ issuer, audience, secret })).authorization();

/** A credential built by hand, to get the claims or header a well-behaved caller never sends. */
async function forged(
  secret: Uint8Array,
  {
    iss,
    aud,
    iat,
    exp,
    typ = 'service+jwt',
  }: { iss: string; aud: string; iat: number; exp: number; typ?: string },
) {
  const jwt = await new SignJWT({})
    .setProtectedHeader({ alg: 'HS256', typ })
    .setIssuer(iss)
    .setAudience(aud)
    .setJti(randomUUID())
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .sign(secret);
  return `Bearer ${jwt}`;
}
const now = () => Math.floor(Date.now() / 1000);

void describe('internal authentication', () => {
  let dir: string;
  let sas: ScopedAuthService;
  let fas: Served;
  const logLines: string[] = [];
  const logger = createLogger('test', 'info', { write: (line: string) => void logLines.push(line) });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'internal-auth-'));
    sas = await startScopedAuth(
      {
        host: '127.0.0.1',
        port: 0,
        keysDir: join(dir, 'keys'),
        keysReloadMs: 0,
        createKeys: true,
        sessions: inMemorySessions,
        authSecret: { value: sasSecret.toString('base64url'), file: join(dir, 'unused') },
        issuer: 'urn:webchat:scoped-auth',
        audience: 'urn:webchat:widget',
        logLevel: 'info',
      },
      logger,
    );
    fas = await startFederatedAuth(
      {
        host: '127.0.0.1',
        port: 0,
        sasUrl: sas.url,
        sasTimeoutMs: 2000,
        authSecret: { value: fasSecret.toString('base64url'), file: join(dir, 'unused') },
        sasAuthSecret: { value: sasSecret.toString('base64url'), file: join(dir, 'unused') },
        logLevel: 'info',
      },
      logger,
    );
  });
  after(async () => {
    await fas.close();
    await sas.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** Tokens minted so far: access lines of a generate (FAS or SAS) that answered 200 with an identity. */
  const issuedCount = () =>
    logLines.filter(
      (l) => l.includes('"msg":"request"') && l.includes('"status":200') && l.includes('"identity"'),
    ).length;

  async function call(url: string, authorization: string | undefined, body: unknown) {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
      body: JSON.stringify(body),
    });
    return { status: res.status, headers: res.headers, body: await res.json() };
  }

  void describe('FAS', () => {
    const tokens = () => `${fas.url}/v1/Accounts/${accountSid}/Tokens`;
    const body = { grants, ttl: 600 };

    void test('the orchestrator’s credential is accepted (control)', async () => {
      const res = await call(tokens(), await credential('orchestrator', 'federated-auth', fasSecret), body);
      assert.equal(res.status, 200);
    });

    const refused: [string, () => Promise<string | undefined>][] = [
      ['no credential', () => Promise.resolve(undefined)],
      ['a malformed header', () => Promise.resolve('Basic b3JjaGVzdHJhdG9yOnB3')],
      ['garbage after Bearer', () => Promise.resolve('Bearer not-a-jwt')],
      [
        'a credential signed with another secret',
        () => credential('orchestrator', 'federated-auth', randomBytes(32)),
      ],
      [
        'an expired credential',
        () =>
          forged(fasSecret, {
            iss: 'orchestrator',
            aud: 'federated-auth',
            iat: now() - 120,
            exp: now() - 60,
          }),
      ],
      [
        'a credential for SAS (wrong audience, right secret)',
        () => credential('orchestrator', 'scoped-auth', fasSecret),
      ],
      ['FAS’s own credential for SAS', () => credential('federated-auth', 'scoped-auth', sasSecret)],
      ['another issuer with the right secret', () => credential('scoped-auth', 'federated-auth', fasSecret)],
      [
        'a credential living longer than 60 s',
        () =>
          forged(fasSecret, { iss: 'orchestrator', aud: 'federated-auth', iat: now(), exp: now() + 3600 }),
      ],
      [
        'a credential issued in the future',
        () =>
          forged(fasSecret, {
            iss: 'orchestrator',
            aud: 'federated-auth',
            iat: now() + 600,
            exp: now() + 630,
          }),
      ],
      [
        'a JWT of another type',
        () =>
          forged(fasSecret, {
            iss: 'orchestrator',
            aud: 'federated-auth',
            iat: now(),
            exp: now() + 30,
            typ: 'JWT',
          }),
      ],
      [
        'an unsigned JWT',
        () =>
          Promise.resolve(
            `Bearer ${new UnsecuredJWT({}).setIssuer('orchestrator').setAudience('federated-auth').setIssuedAt().setExpirationTime('30s').encode()}`,
          ),
      ],
    ];
    for (const [name, make] of refused) {
      void test(`${name}: 401 unauthorized, and nothing is minted`, async () => {
        const before = issuedCount();
        const res = await call(tokens(), await make(), body);
        assert.equal(res.status, 401);
        assert.deepEqual(res.body, unauthorized);
        assert.equal(res.headers.get('www-authenticate'), 'Bearer');
        assert.equal(issuedCount(), before);
      });
    }

    void test('the refresh route is closed too', async () => {
      const res = await call(`${tokens()}/refresh`, undefined, { token: 'x', grants, ttl: 600 });
      assert.equal(res.status, 401);
      assert.deepEqual(res.body, unauthorized);
    });

    void test('an unauthenticated bad body is 401, not 400: nothing is parsed first', async () => {
      const res = await call(tokens(), undefined, { ttl: 'nope' });
      assert.equal(res.status, 401);
    });

    void test('GET /healthz stays open', async () => {
      const res = await fetch(`${fas.url}/healthz`);
      assert.equal(res.status, 200);
    });
  });

  void describe('SAS', () => {
    const generate = () => `${sas.url}/v1/ScopedAuthTokens/generate/internal`;
    const body = { accountSid, grants, ttl: 600, encrypt: true };

    void test('FAS’s credential is accepted (control)', async () => {
      const res = await call(generate(), await credential('federated-auth', 'scoped-auth', sasSecret), body);
      assert.equal(res.status, 200);
    });

    const refused: [string, () => Promise<string | undefined>][] = [
      ['no credential', () => Promise.resolve(undefined)],
      [
        'a credential signed with another secret',
        () => credential('federated-auth', 'scoped-auth', randomBytes(32)),
      ],
      [
        'an expired credential',
        () =>
          forged(sasSecret, { iss: 'federated-auth', aud: 'scoped-auth', iat: now() - 120, exp: now() - 60 }),
      ],
      [
        'the orchestrator’s credential for FAS',
        () => credential('orchestrator', 'federated-auth', fasSecret),
      ],
      [
        'the orchestrator claiming SAS as audience with its own secret',
        () => credential('orchestrator', 'scoped-auth', fasSecret),
      ],
      [
        'the orchestrator as issuer, signed with SAS’s secret',
        () => credential('orchestrator', 'scoped-auth', sasSecret),
      ],
      [
        'a credential for FAS signed with SAS’s secret (wrong audience)',
        () => credential('federated-auth', 'federated-auth', sasSecret),
      ],
    ];
    for (const [name, make] of refused) {
      void test(`${name}: 401 unauthorized, and nothing is minted`, async () => {
        const before = issuedCount();
        const res = await call(generate(), await make(), body);
        assert.equal(res.status, 401);
        assert.deepEqual(res.body, unauthorized);
        assert.equal(issuedCount(), before);
      });
    }

    void test('validate, validate/internal and refresh/internal are closed too', async () => {
      for (const path of [
        '/v1/ScopedAuthTokens/validate',
        '/v1/ScopedAuthTokens/validate/internal',
        '/v1/ScopedAuthTokens/refresh/internal',
      ]) {
        const res = await call(
          sas.url + path,
          await credential('orchestrator', 'federated-auth', fasSecret),
          {
            token: 'x',
          },
        );
        assert.equal(res.status, 401, path);
        assert.deepEqual(res.body, unauthorized);
      }
    });

    void test('a widget token is no credential', async () => {
      const issued = await call(
        generate(),
        await credential('federated-auth', 'scoped-auth', sasSecret),
        body,
      );
      const { token } = issued.body as { token: string };
      const res = await call(generate(), `Bearer ${token}`, body);
      assert.equal(res.status, 401);
    });

    void test('GET /healthz and the JWKS stay open', async () => {
      assert.equal((await fetch(`${sas.url}/healthz`)).status, 200);
      const jwks = await fetch(`${sas.url}/.well-known/jwks.json`);
      assert.equal(jwks.status, 200);
      assert.equal(((await jwks.json()) as { keys: unknown[] }).keys.length, 1);
    });
  });

  void test('scripts/service-credential.ts prints a credential the service accepts, for calls by hand', async () => {
    const run = (callee: string, env: NodeJS.ProcessEnv) =>
      promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/service-credential.ts', callee], {
        cwd: resolve(__dirname, '../..'),
        env: { ...process.env, DATA_DIR: dir, ...env },
      });
    const forSas = (
      await run('scoped-auth', { SAS_AUTH_SECRET: sasSecret.toString('base64url') })
    ).stdout.trim();
    const res = await call(`${sas.url}/v1/ScopedAuthTokens/validate`, forSas, { token: 'x' });
    assert.equal(res.status, 200);
    const forFas = (
      await run('federated-auth', { FAS_AUTH_SECRET: fasSecret.toString('base64url') })
    ).stdout.trim();
    const issued = await call(`${fas.url}/v1/Accounts/${accountSid}/Tokens`, forFas, { grants, ttl: 600 });
    assert.equal(issued.status, 200);
    assert.equal((await call(`${sas.url}/v1/ScopedAuthTokens/validate`, forFas, { token: 'x' })).status, 401);
  });

  void test('refusals are logged with a reason, never with the credential', async () => {
    const presented = await credential('orchestrator', 'scoped-auth', fasSecret);
    await call(`${sas.url}/v1/ScopedAuthTokens/generate/internal`, presented, {});
    await new Promise((r) => setImmediate(r));
    const refusals = logLines.filter((l) => l.includes('"msg":"service credential refused"'));
    assert.ok(refusals.length > 10, `${refusals.length} refusals logged`);
    assert.ok(refusals.some((l) => l.includes('"reason":"ERR_JWS_SIGNATURE_VERIFICATION_FAILED"')));
    assert.ok(refusals.some((l) => l.includes('"reason":"no_credential"')));
    assert.ok(refusals.some((l) => l.includes('"reason":"claim_aud"')));
    const all = logLines.join('');
    assert.equal(all.includes(presented.slice('Bearer '.length)), false);
    assert.equal(all.includes(presented.split('.')[2]!), false);
  });
});
