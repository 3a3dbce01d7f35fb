import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createLogger } from '../../../lib/logger';
import type { Served } from '../../../lib/http/serve';
import { createServiceCredentials, type ServiceCredentials } from '../../../lib/serviceAuth';
import { postAsService } from '../../../scripts/stack/serviceAuthorization';
import type { FederatedAuthConfig } from '../../../services/federated-auth/config';
import { startFederatedAuth } from '../../../services/federated-auth/start';
import { startScopedAuth, type ScopedAuthService } from '../../../services/scoped-auth/start';
import { inMemorySessions } from '../../helpers/sessions';

const accountSid = 'AC0123456789abcdef0123456789abcdef';
const grants = { webchat: { addressSid: 'IS0123456789abcdef0123456789abcdef' } };
const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const silent = createLogger('test', 'silent');
const tokensPath = (sid = accountSid) => `/v1/Accounts/${sid}/Tokens`;

/** Secrets of the two credentials: the orchestrator's for FAS, FAS's for SAS. */
const fasSecret = randomBytes(32).toString('base64url');
const sasSecret = randomBytes(32).toString('base64url');
const asOrchestrator = createServiceCredentials({
  issuer: 'orchestrator',
  audience: 'federated-auth',
  secret: Buffer.from(fasSecret, 'base64url'),
});

function fasConfig(sasUrl: string, sasTimeoutMs = 2000): FederatedAuthConfig {
  return {
    host: '127.0.0.1',
    port: 0,
    sasUrl,
    sasTimeoutMs,
    authSecret: { value: fasSecret, file: '/nonexistent/unused' },
    sasAuthSecret: { value: sasSecret, file: '/nonexistent/unused' },
    logLevel: 'silent',
  };
}

/** A POST as the orchestrator makes it (or as `credentials`' holder), with a credential for it. */
async function post(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
  credentials: Promise<ServiceCredentials> = asOrchestrator,
) {
  const res = await postAsService(credentials, url, body, { headers });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
}

interface Received {
  method: string | undefined;
  url: string | undefined;
  headers: IncomingMessage['headers'];
  body: string;
}

/** A stand-in for SAS that answers every request with `handler`, recording what it receives. */
async function fakeSas(handler: (res: ServerResponse) => void) {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({
        method: req.method,
        url: req.url,
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      });
      handler(res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

void describe('federated auth service against a real SAS', () => {
  let dir: string;
  let sas: ScopedAuthService;
  let fas: Served;
  const sasLog: Record<string, unknown>[] = [];
  const rawSasLog: string[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fas-test-'));
    const sasLogger = createLogger('scoped-auth', 'info', {
      write: (line: string) => {
        rawSasLog.push(line);
        sasLog.push(JSON.parse(line) as Record<string, unknown>);
      },
    });
    sas = await startScopedAuth(
      {
        host: '127.0.0.1',
        port: 0,
        keysDir: join(dir, 'keys'),
        keysReloadMs: 0,
        createKeys: true,
        authSecret: { value: sasSecret, file: join(dir, 'unused') },
        issuer: 'urn:webchat:scoped-auth',
        audience: 'urn:webchat:widget',
        logLevel: 'info',
        sessions: inMemorySessions,
      },
      sasLogger,
    );
    fas = await startFederatedAuth(fasConfig(sas.url), silent);
  });
  after(async () => {
    await fas.close();
    await sas.close();
    await rm(dir, { recursive: true, force: true });
  });

  const asFas = createServiceCredentials({
    issuer: 'federated-auth',
    audience: 'scoped-auth',
    secret: Buffer.from(sasSecret, 'base64url'),
  });
  const validate = async (body: unknown) => post(`${sas.url}/v1/ScopedAuthTokens/validate`, body, {}, asFas);

  void test('issues a bound token that SAS validates with the same fingerprint only', async () => {
    const before = Date.now();
    const res = await post(fas.url + tokensPath(), {
      grants,
      ttl: 900,
      fingerprint: 'v1.fp-A',
      fingerprintLevel: 'medium',
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.deepEqual(Object.keys(res.body).sort(), ['expiration', 'identity', 'token']);
    const { token, identity, expiration } = res.body as {
      token: string;
      identity: string;
      expiration: string;
    };
    assert.match(identity, uuid);
    const expiresIn = Date.parse(expiration) - before;
    assert.ok(expiresIn > 898_000 && expiresIn <= 901_000, expiration);

    assert.deepEqual((await validate({ token, fingerprint: 'v1.fp-A' })).body, {
      authorized: true,
      auth_account: { account_sid: accountSid },
      identity,
      grants,
      expiration,
    });
    assert.deepEqual((await validate({ token })).body, {
      authorized: false,
      message: 'fingerprint_validation_failed',
    });
    assert.deepEqual((await validate({ token, fingerprint: 'v1.fp-B' })).body, {
      authorized: false,
      message: 'fingerprint_validation_failed',
    });
  });

  void test('issues an unbound token without a fingerprint', async () => {
    const res = await post(fas.url + tokensPath(), { grants, ttl: 60 });
    assert.equal(res.status, 200);
    const { token, identity, expiration } = res.body as {
      token: string;
      identity: string;
      expiration: string;
    };
    assert.deepEqual((await validate({ token })).body, {
      authorized: true,
      auth_account: { account_sid: accountSid },
      identity,
      grants,
      expiration,
    });
  });

  void test('forwards X-Request-Id to SAS, and SAS logs neither token nor fingerprint', async () => {
    const requestId = 'req-fas-forward-0001';
    const res = await post(
      fas.url + tokensPath(),
      { grants, ttl: 600, fingerprint: 'v1.secret-fp', fingerprintLevel: 'low' },
      { 'x-request-id': requestId },
    );
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-request-id'), requestId);
    const token = String(res.body.token);
    await new Promise((resolve) => setImmediate(resolve)); // let SAS's access log line land
    const lines = sasLog.filter((l) => l.requestId === requestId);
    assert.ok(
      lines.some((l) => l.path === '/v1/ScopedAuthTokens/generate/internal' && l.status === 200),
      JSON.stringify(lines),
    );
    const everything = rawSasLog.join('');
    assert.equal(everything.includes(token), false);
    assert.equal(everything.includes('v1.secret-fp'), false);
  });

  const badBodies: [string, unknown][] = [
    ['no grants', { ttl: 600 }],
    ['ttl below 60', { grants, ttl: 59 }],
    ['ttl above 86400', { grants, ttl: 86_401 }],
    ['fingerprint without level', { grants, ttl: 600, fingerprint: 'v1.fp' }],
    ['level without fingerprint', { grants, ttl: 600, fingerprintLevel: 'high' }],
    [
      'fingerprint over 128 chars',
      { grants, ttl: 600, fingerprint: 'f'.repeat(129), fingerprintLevel: 'low' },
    ],
    ['a caller-chosen encrypt flag', { grants, ttl: 600, encrypt: false }],
  ];
  for (const [name, body] of badBodies) {
    void test(`refuses ${name} with 400 invalid_request`, async () => {
      const res = await post(fas.url + tokensPath(), body);
      assert.equal(res.status, 400);
      assert.equal(res.body.code, 'invalid_request');
      assert.match(String(res.body.message), /^Invalid body: /);
    });
  }

  void test('refuses a malformed account SID in the path with 400', async () => {
    const res = await post(fas.url + tokensPath('AC123'), { grants, ttl: 600 });
    assert.equal(res.status, 400);
    assert.deepEqual(res.body, {
      code: 'invalid_request',
      message: 'Invalid accountSid: must be AC followed by 32 lowercase hex digits',
    });
  });

  void test('refuses a body that is not JSON with 415', async () => {
    const res = await postAsService(asOrchestrator, fas.url + tokensPath(), 'ttl=600', {
      headers: { 'content-type': 'text/plain' },
    });
    assert.equal(res.status, 415);
    assert.equal(((await res.json()) as { code: string }).code, 'unsupported_media_type');
  });

  void test('GET /healthz', async () => {
    const res = await fetch(`${fas.url}/healthz`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { status: 'ok' });
  });
});

void describe('federated auth service when SAS fails', () => {
  const unavailable = { code: 'unavailable', message: 'The token service is unavailable; retry shortly.' };
  const body = { grants, ttl: 600 };

  async function withFas(sasUrl: string, run: (fas: Served) => Promise<void>, sasTimeoutMs?: number) {
    const fas = await startFederatedAuth(fasConfig(sasUrl, sasTimeoutMs), silent);
    try {
      await run(fas);
    } finally {
      await fas.close();
    }
  }

  void test('SAS down: 503 unavailable with Retry-After', async () => {
    const gone = await fakeSas((res) => res.end());
    await gone.close(); // nothing listens on that port any more
    await withFas(gone.url, async (fas) => {
      const res = await post(fas.url + tokensPath(), body);
      assert.equal(res.status, 503);
      assert.equal(res.headers.get('retry-after'), '1');
      assert.deepEqual(res.body, unavailable);
    });
  });

  void test('SAS too slow: 503 unavailable after the timeout, not a hang', async () => {
    const slow = await fakeSas(() => {
      /* never answers */
    });
    try {
      await withFas(
        slow.url,
        async (fas) => {
          const started = Date.now();
          const res = await post(fas.url + tokensPath(), body);
          assert.equal(res.status, 503);
          assert.equal(res.headers.get('retry-after'), '1');
          assert.deepEqual(res.body, unavailable);
          assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms`);
          assert.equal(slow.received.length, 1);
        },
        200,
      );
    } finally {
      await slow.close();
    }
  });

  void test('SAS 5xx: 503 unavailable with Retry-After', async () => {
    const failing = await fakeSas((res) => {
      res.writeHead(500, { 'content-type': 'application/json' }).end('{"code":"internal","message":"boom"}');
    });
    try {
      await withFas(failing.url, async (fas) => {
        const res = await post(fas.url + tokensPath(), body);
        assert.equal(res.status, 503);
        assert.equal(res.headers.get('retry-after'), '1');
        assert.deepEqual(res.body, unavailable);
      });
    } finally {
      await failing.close();
    }
  });

  void test('SAS 4xx: 502 bad_gateway, and the request SAS saw', async () => {
    const refusing = await fakeSas((res) => {
      res
        .writeHead(400, { 'content-type': 'application/json' })
        .end('{"code":"invalid_request","message":"no"}');
    });
    try {
      await withFas(refusing.url, async (fas) => {
        const res = await post(fas.url + tokensPath(), body, { 'x-request-id': 'req-fas-4xx-00001' });
        assert.equal(res.status, 502);
        assert.deepEqual(res.body, {
          code: 'bad_gateway',
          message: 'The token service refused the request.',
        });
        const [seen] = refusing.received;
        assert.ok(seen);
        assert.equal(seen.method, 'POST');
        assert.equal(seen.url, '/v1/ScopedAuthTokens/generate/internal');
        assert.equal(seen.headers['x-request-id'], 'req-fas-4xx-00001');
        assert.equal(seen.headers['content-type'], 'application/json');
        assert.match(String(seen.headers.authorization), /^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);
        assert.deepEqual(JSON.parse(seen.body), { accountSid, grants, ttl: 600, encrypt: true });
      });
    } finally {
      await refusing.close();
    }
  });

  void test('SAS 200 without a token: 502 bad_gateway', async () => {
    const broken = await fakeSas((res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"identity":"x"}');
    });
    try {
      await withFas(broken.url, async (fas) => {
        const res = await post(fas.url + tokensPath(), body);
        assert.equal(res.status, 502);
        assert.deepEqual(res.body, {
          code: 'bad_gateway',
          message: 'The token service sent an invalid reply.',
        });
      });
    } finally {
      await broken.close();
    }
  });

  void test('a bad body never reaches SAS', async () => {
    const counting = await fakeSas((res) => res.writeHead(500).end());
    try {
      await withFas(counting.url, async (fas) => {
        const res = await post(fas.url + tokensPath(), { grants, ttl: 10 });
        assert.equal(res.status, 400);
        assert.equal(counting.received.length, 0);
      });
    } finally {
      await counting.close();
    }
  });
});
