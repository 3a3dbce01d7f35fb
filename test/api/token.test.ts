import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { createApp } from '../../api/app';
import type { TokenRuns } from '../../api/tokenRuns';
import { noRefresh } from '../helpers/tokenRuns';
import type {
  CreateWebchatTokenInput,
  CreateWebchatTokenResult,
  RefreshWebchatTokenInput,
  RefreshWebchatTokenResult,
} from '../../domain/contracts';
import { AppError } from '../../domain/errors';
import { createLogger } from '../../lib/logger';
import { serve, type Served } from '../../lib/http/serve';
import { httpRequest } from '../helpers/httpRequest';
import { widgetHeaders } from '../helpers/widget';

/** The HTTP contract (README.md, "The HTTP contract"), with the workflow replaced by scripted token runs. */
class ScriptedIssuer implements TokenRuns {
  runRefresh = noRefresh.runRefresh;
  inputs: CreateWebchatTokenInput[] = [];
  static issued = (): Promise<CreateWebchatTokenResult> =>
    Promise.resolve({
      outcome: 'issued',
      accountSid: 'AC' + '0'.repeat(32),
      token: 'tok',
      identity: 'c0ffee00-0000-4000-8000-000000000000',
      expiration: '2030-01-01T00:00:00.000Z',
      cors: { allowOrigin: 'https://shop.example.com', vary: true },
    });
  next = ScriptedIssuer.issued;
  isReady = true;
  runCreate(input: CreateWebchatTokenInput): Promise<CreateWebchatTokenResult> {
    this.inputs.push(input);
    return this.next();
  }
  ready() {
    return Promise.resolve(this.isReady);
  }
}

describe('POST /v2/Webchat/Token', () => {
  const issuer = new ScriptedIssuer();
  let served: Served;
  const url = () => `${served.url}/v2/Webchat/Token`;

  before(async () => {
    const app = createApp({ runs: issuer, logger: createLogger('api-test', 'silent'), deadlineMs: 1000 });
    served = await serve(app, 0);
  });
  after(() => served.close());
  beforeEach(() => {
    issuer.inputs = [];
    issuer.next = ScriptedIssuer.issued;
  });

  const postJson = (body: unknown, headers: Record<string, string> = {}) =>
    fetch(url(), {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });

  test('issued: 200 with token, identity, expiration and the workflow ACAO + Vary', async () => {
    const res = await postJson({ deploymentKey: 'dk_demo_secure' }, { origin: 'https://shop.example.com' });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), {
      token: 'tok',
      identity: 'c0ffee00-0000-4000-8000-000000000000',
      expiration: '2030-01-01T00:00:00.000Z',
    });
    assert.equal(res.headers.get('access-control-allow-origin'), 'https://shop.example.com');
    assert.equal(res.headers.get('vary'), 'Origin');
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.match(res.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
  });

  test('the widget form post: DeploymentKey, extra fields ignored, signals and origin collected', async () => {
    const res = await fetch(url(), {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        origin: 'http://localhost:8081',
        'x-forwarded-for': '198.51.100.23',
        ...widgetHeaders(),
      },
      body: new URLSearchParams({
        DeploymentKey: 'dk_demo_secure',
        CustomerFriendlyName: 'Ada',
        PreEngagementData: '{"q":"hi"}',
      }).toString(),
    });
    assert.equal(res.status, 200);
    const input = issuer.inputs[0]!;
    assert.equal(input.deploymentKey, 'dk_demo_secure');
    assert.equal(input.origin, 'http://localhost:8081');
    assert.equal(input.signals.clientIp, '198.51.100.23');
    assert.equal(input.signals.userAgent, widgetHeaders()['user-agent']);
    assert.equal(input.signals.userSettings, widgetHeaders()['x-twilio-sec-usersettings']);
    assert.equal(input.requestId, res.headers.get('x-request-id'));
  });

  test('a well-formed X-Request-Id from the edge is kept and becomes the workflow request id', async () => {
    const res = await postJson({ deploymentKey: 'dk_demo_open' }, { 'x-request-id': 'edge-req-12345678' });
    assert.equal(res.headers.get('x-request-id'), 'edge-req-12345678');
    assert.equal(issuer.inputs[0]!.requestId, 'edge-req-12345678');
  });

  for (const [reason, message] of [
    ['fingerprint_generation_failed', 'The browser fingerprint could not be generated from this request.'],
    ['invalid_deployment_key', 'The deployment key is unknown or revoked.'],
  ] as const) {
    test(`denied (${reason}): 403 {code, message} with the workflow's ACAO`, async () => {
      issuer.next = () =>
        Promise.resolve({
          outcome: 'denied',
          reason,
          message,
          accountSid: null,
          cors: { allowOrigin: 'http://localhost:8081,https://*.example.com', vary: true },
        });
      const res = await postJson({ deploymentKey: 'dk_x' }, { origin: 'https://evil.test' });
      assert.equal(res.status, 403);
      assert.deepEqual(await res.json(), { code: reason, message });
      assert.equal(
        res.headers.get('access-control-allow-origin'),
        'http://localhost:8081,https://*.example.com',
      );
      assert.equal(res.headers.get('vary'), 'Origin');
    });
  }

  test('unavailable past the deadline: 503 with Retry-After and ACAO *', async () => {
    issuer.next = () =>
      Promise.reject(
        new AppError('unavailable', 'Token issuance is temporarily unavailable.', { 'Retry-After': '2' }),
      );
    const res = await postJson({ deploymentKey: 'dk_demo_open' });
    assert.equal(res.status, 503);
    assert.equal(res.headers.get('retry-after'), '2');
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
    assert.deepEqual(await res.json(), {
      code: 'unavailable',
      message: 'Token issuance is temporarily unavailable.',
    });
  });

  test('an unexpected failure is a JSON 500 without a stack trace', async () => {
    issuer.next = () => Promise.reject(new Error('secret internal detail'));
    const res = await postJson({ deploymentKey: 'dk_demo_open' });
    assert.equal(res.status, 500);
    assert.deepEqual(await res.json(), { code: 'internal', message: 'Internal error.' });
  });

  const badRequests: [string, RequestInit, number, string][] = [
    ['missing key', { body: '{}', headers: { 'content-type': 'application/json' } }, 400, 'invalid_request'],
    [
      'empty key',
      { body: '{"deploymentKey":""}', headers: { 'content-type': 'application/json' } },
      400,
      'invalid_request',
    ],
    [
      'over-long key',
      {
        body: JSON.stringify({ deploymentKey: 'k'.repeat(257) }),
        headers: { 'content-type': 'application/json' },
      },
      400,
      'invalid_request',
    ],
    [
      'key not a string',
      { body: '{"deploymentKey":42}', headers: { 'content-type': 'application/json' } },
      400,
      'invalid_request',
    ],
    [
      'key with spaces',
      { body: '{"deploymentKey":"a b"}', headers: { 'content-type': 'application/json' } },
      400,
      'invalid_request',
    ],
    [
      'malformed JSON',
      { body: '{"deploymentKey":', headers: { 'content-type': 'application/json' } },
      400,
      'invalid_request',
    ],
    [
      'JSON array',
      { body: '["dk_demo_open"]', headers: { 'content-type': 'application/json' } },
      400,
      'invalid_request',
    ],
    [
      'duplicate form field',
      {
        body: 'DeploymentKey=a&DeploymentKey=b',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      },
      400,
      'invalid_request',
    ],
    [
      'text/plain',
      { body: 'dk_demo_open', headers: { 'content-type': 'text/plain' } },
      415,
      'unsupported_media_type',
    ],
    ['no content type', { body: new Uint8Array([1, 2, 3]) }, 415, 'unsupported_media_type'],
    [
      'body over 8 KiB',
      {
        body: JSON.stringify({ deploymentKey: 'dk', pad: 'x'.repeat(9000) }),
        headers: { 'content-type': 'application/json' },
      },
      413,
      'payload_too_large',
    ],
  ];
  for (const [name, init, status, code] of badRequests) {
    test(`bad input (${name}): ${status} ${code}, ACAO *, no workflow started`, async () => {
      const res = await fetch(url(), { method: 'POST', ...init });
      assert.equal(res.status, status);
      const body = (await res.json()) as { code: string; message: string };
      assert.equal(body.code, code);
      assert.equal(typeof body.message, 'string');
      assert.equal(res.headers.get('access-control-allow-origin'), '*');
      assert.equal(issuer.inputs.length, 0);
    });
  }

  test('preflight: 204 with methods, widget headers and max-age, without a body', async () => {
    const res = await fetch(url(), {
      method: 'OPTIONS',
      headers: {
        origin: 'https://shop.example.com',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type,x-twilio-sec-usersettings',
      },
    });
    assert.equal(res.status, 204);
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
    assert.equal(res.headers.get('access-control-allow-methods'), 'POST, OPTIONS');
    const allowed = (res.headers.get('access-control-allow-headers') ?? '').toLowerCase();
    for (const h of [
      'content-type',
      'x-twilio-sec-usersettings',
      'x-twilio-sec-decoders',
      'x-twilio-sec-webchatinfo',
    ]) {
      assert.ok(allowed.includes(h), `${h} allowed`);
    }
    assert.equal(res.headers.get('access-control-max-age'), '7200');
    assert.equal(await res.text(), '');
  });

  test('preflight allows the headers the shipped widget sends: ui-version and webchat-version too', async () => {
    const res = await fetch(url(), {
      method: 'OPTIONS',
      headers: {
        origin: 'http://localhost:8081',
        'access-control-request-method': 'POST',
        'access-control-request-headers':
          'ui-version,webchat-version,x-twilio-sec-decoders,x-twilio-sec-usersettings,x-twilio-sec-webchatinfo',
      },
    });
    assert.equal(res.status, 204);
    const allowed = (res.headers.get('access-control-allow-headers') ?? '')
      .toLowerCase()
      .split(',')
      .map((h) => h.trim());
    for (const h of ['ui-version', 'webchat-version']) assert.ok(allowed.includes(h), `${h} allowed`);
  });

  test('preflight allows DPoP, the proof header of key binding', async () => {
    const res = await fetch(url(), {
      method: 'OPTIONS',
      headers: {
        origin: 'http://localhost:8081',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'dpop,ui-version',
      },
    });
    assert.equal(res.status, 204);
    const allowed = (res.headers.get('access-control-allow-headers') ?? '')
      .toLowerCase()
      .split(',')
      .map((h) => h.trim());
    assert.ok(allowed.includes('dpop'));
  });

  test('an Origin the account does not allow: 403 origin_not_allowed with the account ACAO', async () => {
    issuer.next = () =>
      Promise.resolve({
        outcome: 'denied',
        reason: 'origin_not_allowed',
        message: "This page's origin is not one the account allows.",
        accountSid: 'AC' + '0'.repeat(32),
        cors: { allowOrigin: 'https://shop.example.com', vary: true },
      });
    const res = await postJson({ deploymentKey: 'dk_demo_secure' }, { origin: 'https://evil.test' });
    assert.equal(res.status, 403);
    assert.deepEqual(await res.json(), {
      code: 'origin_not_allowed',
      message: "This page's origin is not one the account allows.",
    });
    assert.equal(res.headers.get('access-control-allow-origin'), 'https://shop.example.com');
    assert.equal(issuer.inputs[0]?.origin, 'https://evil.test');
  });

  test('methods a route does not serve, known to the router or not (TRACE, QUERY): 405 JSON with Allow and CORS', async () => {
    for (const [path, allow] of [
      ['/v2/Webchat/Token', 'OPTIONS, POST'],
      ['/v2/Webchat/Token/Refresh', 'OPTIONS, POST'],
      ['/v2/Webchat/Tokens/Refresh', 'OPTIONS, POST'],
      ['/healthz', 'HEAD, GET'],
      ['/readyz', 'HEAD, GET'],
      ['/openapi.json', 'HEAD, GET'],
    ] as const) {
      for (const method of path.startsWith('/v2')
        ? ['GET', 'HEAD', 'PUT', 'DELETE', 'TRACE', 'QUERY']
        : ['POST', 'TRACE']) {
        const res = await httpRequest(`${served.url}${path}`, { method });
        assert.equal(res.status, 405, `${method} ${path}`);
        assert.equal(res.headers.allow, allow, `${method} ${path}`);
        assert.equal(res.headers['access-control-allow-origin'], '*');
        if (method !== 'HEAD') {
          assert.deepEqual(res.body, { code: 'method_not_allowed', message: 'Method not allowed.' });
        }
      }
    }
  });

  test('an unknown method on an unknown route: 404, not 405', async () => {
    const res = await httpRequest(`${served.url}/v2/Webchat/Nope`, { method: 'TRACE' });
    assert.deepEqual([res.status, res.body], [404, { code: 'not_found', message: 'No such route.' }]);
  });

  test('unknown route: 404 JSON', async () => {
    const res = await fetch(`${served.url}/v2/Webchat/Nope`);
    assert.equal(res.status, 404);
    assert.deepEqual(await res.json(), { code: 'not_found', message: 'No such route.' });
  });

  test('healthz is 200; readyz follows the issuer', async () => {
    assert.equal((await fetch(`${served.url}/healthz`)).status, 200);
    assert.equal((await fetch(`${served.url}/readyz`)).status, 200);
    issuer.isReady = false;
    const res = await fetch(`${served.url}/readyz`);
    assert.equal(res.status, 503);
    assert.deepEqual(await res.json(), { status: 'not_ready' });
    issuer.isReady = true;
  });
});

/** A refresher that answers from a script and records what it was asked. */
class ScriptedRefresher implements Pick<TokenRuns, 'runRefresh'> {
  inputs: RefreshWebchatTokenInput[] = [];
  next: () => Promise<RefreshWebchatTokenResult> = () =>
    Promise.resolve({
      outcome: 'refreshed',
      accountSid: 'AC' + '0'.repeat(32),
      token: 'tok2',
      identity: 'c0ffee00-0000-4000-8000-000000000000',
      expiration: '2030-01-01T01:00:00.000Z',
      cors: { allowOrigin: 'http://localhost:8081', vary: true },
    });
  runRefresh(input: RefreshWebchatTokenInput): Promise<RefreshWebchatTokenResult> {
    this.inputs.push(input);
    return this.next();
  }
}

describe('POST /v2/Webchat/Token/Refresh and /v2/Webchat/Tokens/Refresh (the shipped widget)', () => {
  const refresher = new ScriptedRefresher();
  let served: Served;

  before(async () => {
    const issuer = new ScriptedIssuer();
    const runs: TokenRuns = {
      runCreate: (input) => issuer.runCreate(input),
      runRefresh: (input) => refresher.runRefresh(input),
      ready: () => issuer.ready(),
    };
    const app = createApp({
      runs,
      logger: createLogger('api-test', 'silent'),
      deadlineMs: 1000,
    });
    served = await serve(app, 0);
  });
  after(() => served.close());

  const refresh = (path: string, headers: Record<string, string> = {}) =>
    fetch(`${served.url}${path}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        origin: 'http://localhost:8081',
        ...widgetHeaders(),
        ...headers,
      },
      body: new URLSearchParams({ DeploymentKey: 'dk_demo_secure', Token: 'abc.def' }).toString(),
    });

  test('both paths serve the same refresh: same answer, same input to the workflow', async () => {
    refresher.inputs = [];
    const answers = [];
    for (const path of ['/v2/Webchat/Token/Refresh', '/v2/Webchat/Tokens/Refresh']) {
      const res = await refresh(path, { 'x-request-id': 'refresh-request-1' });
      assert.equal(res.status, 200, path);
      assert.equal(res.headers.get('access-control-allow-origin'), 'http://localhost:8081');
      answers.push(await res.json());
    }
    assert.deepEqual(answers[1], answers[0]);
    assert.deepEqual(answers[0], {
      token: 'tok2',
      identity: 'c0ffee00-0000-4000-8000-000000000000',
      expiration: '2030-01-01T01:00:00.000Z',
    });
    assert.equal(refresher.inputs.length, 2);
    assert.deepEqual(refresher.inputs[1], refresher.inputs[0]);
    assert.equal(refresher.inputs[0]?.token, 'abc.def');
  });

  test('both paths answer the preflight with the widget headers', async () => {
    for (const path of ['/v2/Webchat/Token/Refresh', '/v2/Webchat/Tokens/Refresh']) {
      const res = await fetch(`${served.url}${path}`, {
        method: 'OPTIONS',
        headers: {
          origin: 'http://localhost:8081',
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'ui-version,webchat-version,x-twilio-sec-usersettings',
        },
      });
      assert.equal(res.status, 204, path);
      const allowed = (res.headers.get('access-control-allow-headers') ?? '').toLowerCase();
      for (const h of ['ui-version', 'webchat-version', 'x-twilio-sec-usersettings']) {
        assert.ok(allowed.includes(h), `${path}: ${h}`);
      }
    }
  });

  test('a refusal for a disallowed origin: 403 {valid: false, code: origin_not_allowed}', async () => {
    refresher.next = () =>
      Promise.resolve({
        outcome: 'refused',
        code: 'origin_not_allowed',
        message: "This page's origin is not one the account allows.",
        accountSid: 'AC' + '0'.repeat(32),
        cors: { allowOrigin: 'http://localhost:8081', vary: true },
      });
    const res = await refresh('/v2/Webchat/Tokens/Refresh', { origin: 'https://evil.test' });
    assert.equal(res.status, 403);
    assert.deepEqual(await res.json(), {
      valid: false,
      code: 'origin_not_allowed',
      message: "This page's origin is not one the account allows.",
    });
  });
});
