import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { SignJWT, UnsecuredJWT } from 'jose';
import type { Served } from '../../lib/http/serve';
import { createLogger } from '../../lib/logger';
import { bodyHash, createServiceCredentials, requestTarget, type ServiceName } from '../../lib/serviceAuth';
import { startFederatedAuth } from '../../services/federated-auth/start';
import { startScopedAuth, type ScopedAuthService } from '../../services/scoped-auth/start';
import { inMemorySessions } from '../helpers/sessions';

/**
 * FAS accepts only the orchestrator, SAS only FAS, and each credential only for the one request it was made
 * for, once: every other caller gets 401 `unauthorized`, before its body is parsed, and nothing is minted. Both
 * services run for real, over HTTP, with their own secrets; two SAS share the replay cache in the local Redis,
 * as a fleet's do (attack 4 of issue 20: a captured FAS -> SAS credential replayed, as is or with another body).
 */
const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const keyPrefix = `webchat-internal-auth-test-${randomUUID()}:`;
const accountSid = 'AC0123456789abcdef0123456789abcdef';
const otherAccountSid = 'AC' + 'f'.repeat(32);
const grants = { webchat: { addressSid: 'IS0123456789abcdef0123456789abcdef' } };
const fasSecret = randomBytes(32);
const sasSecret = randomBytes(32);
const unauthorized = { code: 'unauthorized', message: 'A valid service credential is required.' };

/** What a credential is made for: the request it will go with. */
interface Target {
  url: string;
  body: string;
  method?: string;
}

const credential = async (issuer: ServiceName, audience: ServiceName, secret: Uint8Array, target: Target) =>
  (await createServiceCredentials({ issuer, audience, secret })).authorization({
    method: target.method ?? 'POST',
    path: requestTarget(target.url),
    body: target.body,
  });

const now = () => Math.floor(Date.now() / 1000);

/** A credential built by hand, to get the claims or header a well-behaved caller never sends. */
async function forged(
  secret: Uint8Array,
  target: Target,
  claims: { iss: string; aud: string; iat?: number; exp?: number; typ?: string; omit?: string[] },
) {
  const iat = claims.iat ?? now();
  const payload: Record<string, unknown> = {
    htm: target.method ?? 'POST',
    htp: requestTarget(target.url),
    bsh: bodyHash(target.body),
  };
  for (const name of claims.omit ?? []) delete payload[name];
  const jwt = await new SignJWT(payload)
    .setProtectedHeader({ alg: 'HS256', typ: claims.typ ?? 'service+jwt' })
    .setIssuer(claims.iss)
    .setAudience(claims.aud)
    .setJti(randomUUID())
    .setIssuedAt(iat)
    .setExpirationTime(claims.exp ?? iat + 10)
    .sign(secret);
  return `Bearer ${jwt}`;
}

void describe('internal authentication', () => {
  let dir: string;
  let sas: ScopedAuthService;
  let sas2: ScopedAuthService;
  let fas: Served;
  const logLines: string[] = [];
  const logger = createLogger('test', 'info', { write: (line: string) => void logLines.push(line) });

  const startSas = () =>
    startScopedAuth(
      {
        host: '127.0.0.1',
        port: 0,
        keysDir: join(dir, 'keys'),
        keysReloadMs: 0,
        createKeys: true,
        sessions: inMemorySessions,
        authSecret: { value: sasSecret.toString('base64url'), file: join(dir, 'unused') },
        replays: { redisUrl, keyPrefix },
        issuer: 'urn:webchat:scoped-auth',
        audience: 'urn:webchat:widget',
        logLevel: 'info',
      },
      logger,
    );

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'internal-auth-'));
    sas = await startSas();
    sas2 = await startSas();
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
    await sas2.close();
    const redis = new Redis(redisUrl);
    const keys = await redis.keys(`${keyPrefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
    await rm(dir, { recursive: true, force: true });
  });

  /** Tokens minted so far: access lines of a generate (FAS or SAS) that answered 200 with an identity. */
  const issuedCount = () =>
    logLines.filter(
      (l) => l.includes('"msg":"request"') && l.includes('"status":200') && l.includes('"identity"'),
    ).length;

  async function call(url: string, authorization: string | undefined, body: string, method = 'POST') {
    const res = await fetch(url, {
      method,
      headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
      ...(method === 'GET' ? {} : { body }),
    });
    return { status: res.status, headers: res.headers, body: await res.json() };
  }

  void describe('FAS', () => {
    const tokens = () => `${fas.url}/v1/Accounts/${accountSid}/Tokens`;
    const body = JSON.stringify({ grants, ttl: 600 });
    const target = () => ({ url: tokens(), body });

    void test('the orchestrator’s credential for this request is accepted (control)', async () => {
      const res = await call(
        tokens(),
        await credential('orchestrator', 'federated-auth', fasSecret, target()),
        body,
      );
      assert.equal(res.status, 200);
    });

    const refused: [string, () => Promise<string | undefined>][] = [
      ['no credential', () => Promise.resolve(undefined)],
      ['a malformed header', () => Promise.resolve('Basic b3JjaGVzdHJhdG9yOnB3')],
      ['garbage after Bearer', () => Promise.resolve('Bearer not-a-jwt')],
      [
        'a credential signed with another secret',
        () => credential('orchestrator', 'federated-auth', randomBytes(32), target()),
      ],
      [
        'an expired credential',
        () =>
          forged(fasSecret, target(), {
            iss: 'orchestrator',
            aud: 'federated-auth',
            iat: now() - 30,
            exp: now() - 20,
          }),
      ],
      [
        'a credential for SAS (wrong audience, right secret)',
        () => credential('orchestrator', 'scoped-auth', fasSecret, target()),
      ],
      [
        'FAS’s own credential for SAS',
        () => credential('federated-auth', 'scoped-auth', sasSecret, target()),
      ],
      [
        'another issuer with the right secret',
        () => credential('scoped-auth', 'federated-auth', fasSecret, target()),
      ],
      [
        'a credential living longer than 10 s',
        () => forged(fasSecret, target(), { iss: 'orchestrator', aud: 'federated-auth', exp: now() + 60 }),
      ],
      [
        'a credential issued in the future',
        () =>
          forged(fasSecret, target(), {
            iss: 'orchestrator',
            aud: 'federated-auth',
            iat: now() + 600,
            exp: now() + 605,
          }),
      ],
      [
        'a JWT of another type',
        () => forged(fasSecret, target(), { iss: 'orchestrator', aud: 'federated-auth', typ: 'JWT' }),
      ],
      [
        'a credential not bound to a request (no method, path or body hash: the old bearer kind)',
        () =>
          forged(fasSecret, target(), {
            iss: 'orchestrator',
            aud: 'federated-auth',
            omit: ['htm', 'htp', 'bsh'],
          }),
      ],
      [
        'a credential made for another account’s path',
        () =>
          credential('orchestrator', 'federated-auth', fasSecret, {
            url: `${fas.url}/v1/Accounts/${otherAccountSid}/Tokens`,
            body,
          }),
      ],
      [
        'a credential made for another body (a longer TTL)',
        () =>
          credential('orchestrator', 'federated-auth', fasSecret, {
            url: tokens(),
            body: JSON.stringify({ grants, ttl: 86_400 }),
          }),
      ],
      [
        'an unsigned JWT',
        () =>
          Promise.resolve(
            `Bearer ${new UnsecuredJWT({}).setIssuer('orchestrator').setAudience('federated-auth').setIssuedAt().setExpirationTime('5s').encode()}`,
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
      const res = await call(
        `${tokens()}/refresh`,
        undefined,
        JSON.stringify({ token: 'x', grants, ttl: 600 }),
      );
      assert.equal(res.status, 401);
      assert.deepEqual(res.body, unauthorized);
    });

    void test('an unauthenticated bad body is 401, not 400: nothing is parsed first', async () => {
      const res = await call(tokens(), undefined, '{"ttl": "nope"');
      assert.equal(res.status, 401);
    });

    void test('GET /healthz stays open', async () => {
      const res = await fetch(`${fas.url}/healthz`);
      assert.equal(res.status, 200);
    });
  });

  void describe('SAS', () => {
    const generate = () => `${sas.url}/v1/ScopedAuthTokens/generate/internal`;
    const body = JSON.stringify({ accountSid, grants, ttl: 600, encrypt: true });
    const target = () => ({ url: generate(), body });

    void test('FAS’s credential for this request is accepted (control)', async () => {
      const res = await call(
        generate(),
        await credential('federated-auth', 'scoped-auth', sasSecret, target()),
        body,
      );
      assert.equal(res.status, 200);
    });

    const refused: [string, () => Promise<string | undefined>][] = [
      ['no credential', () => Promise.resolve(undefined)],
      [
        'a credential signed with another secret',
        () => credential('federated-auth', 'scoped-auth', randomBytes(32), target()),
      ],
      [
        'an expired credential',
        () =>
          forged(sasSecret, target(), {
            iss: 'federated-auth',
            aud: 'scoped-auth',
            iat: now() - 30,
            exp: now() - 20,
          }),
      ],
      [
        'the orchestrator’s credential for FAS',
        () => credential('orchestrator', 'federated-auth', fasSecret, target()),
      ],
      [
        'the orchestrator claiming SAS as audience with its own secret',
        () => credential('orchestrator', 'scoped-auth', fasSecret, target()),
      ],
      [
        'the orchestrator as issuer, signed with SAS’s secret',
        () => credential('orchestrator', 'scoped-auth', sasSecret, target()),
      ],
      [
        'a credential for FAS signed with SAS’s secret (wrong audience)',
        () => credential('federated-auth', 'federated-auth', sasSecret, target()),
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

    void test('a captured credential replayed as is: 401, at the same SAS and at another one of the fleet', async () => {
      const captured = await credential('federated-auth', 'scoped-auth', sasSecret, target());
      const before = issuedCount();
      assert.equal((await call(generate(), captured, body)).status, 200);
      for (const url of [generate(), `${sas2.url}/v1/ScopedAuthTokens/generate/internal`]) {
        const replayed = await call(url, captured, body);
        assert.deepEqual([replayed.status, replayed.body], [401, unauthorized], url);
      }
      assert.equal(issuedCount(), before + 1, 'minted once');
      assert.ok(logLines.some((l) => l.includes('"reason":"replayed"')));
    });

    void test('a captured credential sent with another body (another account, a day-long TTL): 401; the original request still goes through once', async () => {
      const captured = await credential('federated-auth', 'scoped-auth', sasSecret, target());
      const before = issuedCount();
      for (const other of [
        JSON.stringify({ accountSid: otherAccountSid, grants, ttl: 600, encrypt: true }),
        JSON.stringify({ accountSid, grants, ttl: 86_400, encrypt: true }),
        `${body} `,
      ]) {
        const swapped = await call(generate(), captured, other);
        assert.deepEqual([swapped.status, swapped.body], [401, unauthorized]);
      }
      assert.equal(issuedCount(), before);
      assert.ok(logLines.some((l) => l.includes('"reason":"body_mismatch"')));
      // Refusing the copies spent nothing: the request the credential was made for goes through, once.
      assert.equal((await call(generate(), captured, body)).status, 200);
      assert.equal((await call(generate(), captured, body)).status, 401);
    });

    void test('a captured credential sent to another route or with another method: 401', async () => {
      const captured = await credential('federated-auth', 'scoped-auth', sasSecret, target());
      const validate = await call(`${sas.url}/v1/ScopedAuthTokens/validate`, captured, body);
      assert.deepEqual([validate.status, validate.body], [401, unauthorized]);
      const asGet = await call(generate(), captured, '', 'GET');
      assert.equal(asGet.status, 401);
      assert.ok(logLines.some((l) => l.includes('"reason":"claim_htp"')));
      assert.ok(logLines.some((l) => l.includes('"reason":"claim_htm"')));
    });

    void test('validate, validate/internal and refresh/internal are closed too', async () => {
      for (const path of [
        '/v1/ScopedAuthTokens/validate',
        '/v1/ScopedAuthTokens/validate/internal',
        '/v1/ScopedAuthTokens/refresh/internal',
      ]) {
        const text = JSON.stringify({ token: 'x' });
        const res = await call(
          sas.url + path,
          await credential('orchestrator', 'federated-auth', fasSecret, { url: sas.url + path, body: text }),
          text,
        );
        assert.equal(res.status, 401, path);
        assert.deepEqual(res.body, unauthorized);
      }
    });

    void test('a widget token is no credential', async () => {
      const issued = await call(
        generate(),
        await credential('federated-auth', 'scoped-auth', sasSecret, target()),
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

  void test('scripts/service-credential.ts prints a credential for one request, which the service accepts once', async () => {
    const run = (args: string[], env: NodeJS.ProcessEnv) =>
      promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/service-credential.ts', ...args], {
        cwd: resolve(__dirname, '../..'),
        env: { ...process.env, DATA_DIR: dir, ...env },
      });
    const validate = '/v1/ScopedAuthTokens/validate';
    const text = '{"token":"x"}';
    const forSas = (
      await run(['scoped-auth', 'POST', validate, text], { SAS_AUTH_SECRET: sasSecret.toString('base64url') })
    ).stdout.trim();
    assert.equal((await call(`${sas.url}${validate}`, forSas, text)).status, 200);
    assert.equal((await call(`${sas.url}${validate}`, forSas, text)).status, 401, 'once');
    const tokensPath = `/v1/Accounts/${accountSid}/Tokens`;
    const tokensBody = JSON.stringify({ grants, ttl: 600 });
    const forFas = (
      await run(['federated-auth', 'POST', tokensPath, tokensBody], {
        FAS_AUTH_SECRET: fasSecret.toString('base64url'),
      })
    ).stdout.trim();
    assert.equal((await call(`${fas.url}${tokensPath}`, forFas, tokensBody)).status, 200);
    await assert.rejects(
      run(['scoped-auth'], { SAS_AUTH_SECRET: sasSecret.toString('base64url') }),
      /Usage:/,
    );
  });

  void test('refusals are logged with a reason, never with the credential', async () => {
    const presented = await credential('orchestrator', 'scoped-auth', fasSecret, {
      url: `${sas.url}/v1/ScopedAuthTokens/generate/internal`,
      body: '{}',
    });
    await call(`${sas.url}/v1/ScopedAuthTokens/generate/internal`, presented, '{}');
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
