import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { createApp } from '../../api/app';
import type { TokenRuns } from '../../api/tokenRuns';
import { noRefresh } from '../helpers/tokenRuns';
import { createRateLimits } from '../../api/rateLimit';
import type { CreateWebchatTokenInput, CreateWebchatTokenResult } from '../../domain/contracts';
import { createLogger } from '../../lib/logger';
import { serve, type Served } from '../../lib/http/serve';
import { buildRequest, rawRequest } from '../helpers/rawHttp';

/** Issues for any input, but refuses (and so fails the property with a 500) one the API should have stopped. */
class StrictIssuer implements TokenRuns {
  runRefresh = noRefresh.runRefresh;
  count = 0;
  runCreate(input: CreateWebchatTokenInput): Promise<CreateWebchatTokenResult> {
    this.count++;
    if (typeof input.deploymentKey !== 'string' || !/^[\x21-\x7e]{1,256}$/.test(input.deploymentKey)) {
      throw new Error('a malformed deployment key reached the issuer');
    }
    return Promise.resolve({
      outcome: 'issued',
      accountSid: 'AC' + '0'.repeat(32),
      token: 'tok',
      identity: 'id',
      expiration: '2030-01-01T00:00:00.000Z',
      cors: { allowOrigin: '*', vary: false },
    });
  }
  ready() {
    return Promise.resolve(true);
  }
}

const seed = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
const numRuns = Number(process.env.FC_RUNS ?? 300);

const bytes = (maxLength: number) => fc.uint8Array({ maxLength }).map((a) => Buffer.from(a));
/** Header bytes of any kind except CR and LF, which would end the header instead of being inside it. */
const headerBytes = (maxLength: number) =>
  fc.uint8Array({ maxLength }).map((a) => Buffer.from(a.filter((b) => b !== 10 && b !== 13)));

const deploymentKeyValue = fc.oneof(
  fc.constant('dk_demo_open'),
  fc.string(),
  fc.string({ minLength: 250, maxLength: 400 }),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string(), { maxLength: 3 }),
  fc.dictionary(fc.string(), fc.string(), { maxKeys: 3 }),
);

const jsonBody = fc.oneof(
  fc.record({ deploymentKey: deploymentKeyValue }).map((o) => JSON.stringify(o)),
  fc
    .record({ DeploymentKey: deploymentKeyValue, CustomerFriendlyName: fc.string() })
    .map((o) => JSON.stringify(o)),
  fc.json(),
  fc.constantFrom(
    '{"deploymentKey":"dk_a","deploymentKey":"dk_b"}',
    '{"deploymentKey":"dk_a","deploymentKey":{"x":1}}',
    '{"__proto__":{"deploymentKey":"dk_polluted"}}',
    '{"constructor":{"prototype":{"deploymentKey":"dk_polluted"}}}',
    '{"__proto__":null,"deploymentKey":"dk_demo_open"}',
    '{"deploymentKey":{"toString":"dk_x","valueOf":"dk_y"}}',
    '{"deploymentKey":"\\u0000\\ud800"}',
    '{"deploymentKey":',
    'null',
    '[]',
    '"dk_demo_open"',
  ),
  fc.integer({ min: 1, max: 4000 }).map((n) => '['.repeat(n) + ']'.repeat(n)),
  fc.integer({ min: 1, max: 2600 }).map((n) => '{"a":'.repeat(n) + '1' + '}'.repeat(n)),
);

const formBody = fc
  .array(
    fc.tuple(
      fc.oneof(
        fc.constantFrom(
          'DeploymentKey',
          'deploymentKey',
          '__proto__',
          'constructor',
          '__proto__[DeploymentKey]',
          'constructor[prototype][DeploymentKey]',
          'DeploymentKey[]',
          'DeploymentKey[a]',
          'PreEngagementData',
        ),
        fc.string(),
      ),
      fc.oneof(fc.constant('dk_demo_open'), fc.string(), fc.string({ minLength: 300, maxLength: 600 })),
    ),
    { maxLength: 6 },
  )
  .map((pairs) => new URLSearchParams(pairs).toString());

const body = fc.oneof(
  jsonBody.map((s) => Buffer.from(s)),
  formBody.map((s) => Buffer.from(s)),
  bytes(2000),
  // Not UTF-8: a lone continuation byte, an overlong encoding, a truncated sequence, inside a JSON string.
  fc
    .constantFrom([0xff, 0xfe], [0xc0, 0xaf], [0xe2, 0x82], [0x80], [0xed, 0xa0, 0x80])
    .map((b) => Buffer.concat([Buffer.from('{"deploymentKey":"dk_'), Buffer.from(b), Buffer.from('"}')])),
  // Over the 8 KiB limit.
  fc.integer({ min: 8193, max: 20_000 }).map((n) => Buffer.from(`{"deploymentKey":"${'a'.repeat(n)}"}`)),
);

const contentType = fc.oneof(
  fc.constantFrom(
    'application/json',
    'application/json; charset=utf-8',
    'application/json; charset=latin1',
    'application/json; charset=utf-16',
    'application/json; charset=bogus',
    'application/x-www-form-urlencoded',
    'application/x-www-form-urlencoded; charset=iso-8859-1',
    'text/plain',
    'multipart/form-data; boundary=x',
    'application/json, text/plain',
    '',
  ),
  fc.string(),
);

const widgetHeaderValue = fc.oneof(
  fc.json().map((s) => Buffer.from(s)),
  fc.string().map((s) => Buffer.from(s)),
  headerBytes(300),
  fc
    .constantFrom('{"language":', '{"__proto__":{"x":1}}', '{"constructor":{"prototype":{}}}')
    .map((s) => Buffer.from(s)),
  // Large JSON; several of these together overflow Node's 16 KiB header limit.
  fc.integer({ min: 1000, max: 9000 }).map((n) => Buffer.from(JSON.stringify({ language: 'x'.repeat(n) }))),
);

const extraHeaders = fc.array(
  fc.tuple(
    fc.constantFrom(
      'x-twilio-sec-usersettings',
      'x-twilio-sec-decoders',
      'x-twilio-sec-webchatinfo',
      'user-agent',
      'accept-language',
      'origin',
      'x-forwarded-for',
      'x-request-id',
      'idempotency-key',
      'content-type',
      'transfer-encoding',
      '__proto__',
      'constructor',
    ),
    widgetHeaderValue,
  ),
  { maxLength: 6 },
);

const hostileRequest = fc.record({
  method: fc.oneof(fc.constant('POST'), fc.constantFrom('GET', 'PUT', 'OPTIONS', 'DELETE', 'PATCH')),
  contentType,
  headers: extraHeaders,
  body,
});

describe('hostile input against the running API (fast-check)', () => {
  const issuer = new StrictIssuer();
  let served: Served;

  before(async () => {
    const app = createApp({
      runs: issuer,
      logger: createLogger('api-test', 'silent'),
      deadlineMs: 1000,
      rateLimits: createRateLimits({
        clientIp: { points: 0, windowSeconds: 60 },
        deploymentKey: { points: 0, windowSeconds: 60 },
      }),
    });
    served = await serve(app, 0, '127.0.0.1', { requestTimeoutMs: 2000 });
  });
  after(() => served.close());

  test(`no 5xx, no hang, every refusal JSON {code, message} (${numRuns} runs, seed ${seed})`, async () => {
    console.log(`hostile input: fast-check seed ${seed} (FC_SEED=${seed} reproduces), ${numRuns} runs`);
    await fc.assert(
      fc.asyncProperty(hostileRequest, async (r) => {
        const request = buildRequest(
          { method: r.method, headers: [['Content-Type', r.contentType], ...r.headers] },
          r.body,
        );
        const res = await rawRequest(served.url, request, 5000);
        assert.ok(res.status >= 200 && res.status < 500, `status ${res.status}`);
        assert.ok(res.headers['access-control-allow-origin'], 'ACAO on every answer');
        if (res.status >= 400) {
          assert.match(res.headers['content-type'] ?? '', /^application\/json/);
          const parsed = JSON.parse(res.body.toString('utf8')) as unknown;
          assert.ok(typeof parsed === 'object' && parsed !== null);
          const { code, message } = parsed as Record<string, unknown>;
          assert.equal(typeof code, 'string');
          assert.equal(typeof message, 'string');
          assert.deepEqual(Object.keys(parsed).sort(), ['code', 'message']);
        }
      }),
      { numRuns, seed },
    );
    // Nothing above reached into a prototype, and the server still serves.
    assert.equal(({} as Record<string, unknown>).deploymentKey, undefined);
    assert.equal(({} as Record<string, unknown>).DeploymentKey, undefined);
    const ok = await fetch(`${served.url}/v2/Webchat/Token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ deploymentKey: 'dk_demo_open' }),
    });
    assert.equal(ok.status, 200);
  });
});
