import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openApiDocument } from '../../api/openApi';
import { randomPorts, startStack, terminate, type Stack } from '../../scripts/stack';
import {
  receive,
  responseChecker,
  validateDocument,
  type ReceivedResponse,
} from '../helpers/openApiValidator';
import { httpRequest } from '../helpers/httpRequest';
import { widgetHeaders } from '../helpers/widget';

const tokenPath = '/v2/Webchat/Token';
const refreshPath = '/v2/Webchat/Token/Refresh';
/** The same refresh on the path the shipped widget uses. */
const widgetRefreshPath = '/v2/Webchat/Tokens/Refresh';
const refreshPaths = [refreshPath, widgetRefreshPath];
/** The per-deployment-key limit of this stack: low enough for the 429 case, above what the other cases use. */
const keyLimit = 40;

/**
 * The OpenAPI document against the running product: every status it documents is produced by a real request
 * through the edge (the whole stack as `make start` runs it), and each response is checked against the document
 * the edge serves: status documented, body valid for its schema, headers (ACAO, X-Request-Id, Retry-After) there
 * and well formed. The 503 cases stop the worker (runs never finish: the API answers at its deadline), then
 * Temporal (/readyz), then the API (the edge answers).
 */
describe('OpenAPI conformance, through the edge', () => {
  let stack: Stack;
  let dataDir: string;
  let check: ReturnType<typeof responseChecker>;
  const logs: string[] = [];
  /** `method path status` of every response checked, to prove at the end that each documented one was seen. */
  const seen = new Set<string>();

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'webchat-openapi-'));
    stack = await startStack({
      ports: await randomPorts(),
      dataDir,
      // A worker process of its own, so that the API can be left without one (503 at the deadline).
      separateWorker: true,
      output: (name, line) => logs.push(`[${name}] ${line}`),
      envFor: {
        api: {
          TOKEN_DEADLINE_MS: '4000',
          RATE_LIMIT_KEY_POINTS: String(keyLimit),
          RATE_LIMIT_KEY_WINDOW_S: '600',
        },
      },
    });
    // The worker's first run (bundle warm-up) can take seconds on a busy machine: let it happen before the
    // cases, so that their deadline is about the product, not the start-up. A 503 here is retried.
    for (let attempt = 0; ; attempt++) {
      const warm = await fetch(`${stack.urls.api}/v2/Webchat/Token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ deploymentKey: 'dk_warm_up' }),
      });
      if (warm.status === 403 || attempt >= 10) break;
    }
    const res = await fetch(`${stack.urls.edge}/openapi.json`);
    assert.equal(res.status, 200);
    check = responseChecker(await res.clone().json());
    conforms('GET', '/openapi.json', await receive(res));
  });

  after(async () => {
    await stack?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  const conforms = (method: string, path: string, res: ReceivedResponse) => {
    assert.deepEqual(check(method, path, res), [], JSON.stringify(res.body));
    seen.add(`${method} ${path} ${res.status}`);
    return res;
  };

  const post = async (
    path: string,
    body: string,
    headers: Record<string, string> = {},
    base = stack.urls.edge,
  ): Promise<ReceivedResponse> => {
    const res = await fetch(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
      signal: AbortSignal.timeout(10_000),
    });
    return conforms('POST', path, await receive(res));
  };
  const json = (value: unknown) => JSON.stringify(value);
  const codeOf = (res: ReceivedResponse) => (res.body as { code: string }).code;

  test('GET /openapi.json through the edge is the document the API renders, valid OpenAPI 3.1', async () => {
    const res = await fetch(`${stack.urls.edge}/openapi.json`);
    assert.equal(res.status, 200);
    const served: unknown = await res.json();
    assert.deepEqual(served, JSON.parse(JSON.stringify(openApiDocument())));
    assert.deepEqual(validateDocument(served), []);
  });

  test('create: 200 for JSON and for the widget form (with Idempotency-Key), X-Request-Id echoed', async () => {
    const first = await post(tokenPath, json({ deploymentKey: 'dk_demo_open' }), {
      origin: 'https://any.site.test',
      'x-request-id': 'openapi-test-0001',
    });
    assert.equal(first.status, 200);
    assert.equal(first.headers.get('x-request-id'), 'openapi-test-0001');
    const form = await post(tokenPath, 'DeploymentKey=dk_demo_open&CustomerFriendlyName=Ada', {
      'content-type': 'application/x-www-form-urlencoded',
      'idempotency-key': 'openapi-idem-1',
      ...widgetHeaders(),
    });
    assert.equal(form.status, 200);
  });

  test('create: 403 for both deny reasons, the allowed origin echoed', async () => {
    const unknown = await post(tokenPath, json({ deploymentKey: 'dk_not_a_key' }));
    assert.deepEqual([unknown.status, codeOf(unknown)], [403, 'invalid_deployment_key']);
    const noSignals = await post(tokenPath, json({ deploymentKey: 'dk_demo_secure' }), {
      origin: 'http://localhost:8081',
    });
    assert.deepEqual([noSignals.status, codeOf(noSignals)], [403, 'fingerprint_generation_failed']);
    assert.equal(noSignals.headers.get('access-control-allow-origin'), 'http://localhost:8081');
  });

  for (const path of [tokenPath, ...refreshPaths]) {
    test(`${path}: 400, 413 and 415`, async () => {
      const missing = await post(path, json({}));
      assert.deepEqual([missing.status, codeOf(missing)], [400, 'invalid_request']);
      const tooLarge = await post(path, json({ deploymentKey: 'dk_demo_open', pad: 'x'.repeat(9 * 1024) }));
      assert.deepEqual([tooLarge.status, codeOf(tooLarge)], [413, 'payload_too_large']);
      const text = await post(path, 'deploymentKey=dk_demo_open', { 'content-type': 'text/plain' });
      assert.deepEqual([text.status, codeOf(text)], [415, 'unsupported_media_type']);
    });

    test(`${path}: OPTIONS preflight 204`, async () => {
      const res = await fetch(`${stack.urls.edge}${path}`, {
        method: 'OPTIONS',
        headers: {
          origin: 'https://any.site.test',
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'content-type, x-twilio-sec-usersettings',
        },
      });
      assert.equal(conforms('OPTIONS', path, await receive(res)).status, 204);
    });
  }

  test('create: 400 for a malformed Idempotency-Key', async () => {
    const res = await post(tokenPath, json({ deploymentKey: 'dk_demo_open' }), {
      'idempotency-key': 'bad key',
    });
    assert.deepEqual([res.status, codeOf(res)], [400, 'invalid_request']);
  });

  for (const path of refreshPaths) {
    test(`${path}: 200 for the same identity, 403 refusal for a token it never issued`, async () => {
      const issued = await post(tokenPath, json({ deploymentKey: 'dk_demo_open' }));
      const { token, identity } = issued.body as { token: string; identity: string };
      const refreshed = await post(path, json({ deploymentKey: 'dk_demo_open', token }));
      assert.equal(refreshed.status, 200);
      assert.equal((refreshed.body as { identity: string }).identity, identity);
      const refused = await post(path, json({ deploymentKey: 'dk_demo_open', token: 'abc.def.ghi.jkl.mno' }));
      assert.equal(refused.status, 403);
      assert.equal((refused.body as { valid: boolean; code: string }).code, 'invalid_token');
    });
  }

  test('429 + Retry-After once a deployment key has used its window', async () => {
    let last: ReceivedResponse | undefined;
    for (let i = 0; i <= keyLimit; i++)
      last = await post(tokenPath, json({ deploymentKey: 'dk_flood_test' }));
    assert.deepEqual([last?.status, last && codeOf(last)], [429, 'rate_limited']);
    assert.ok(Number(last?.headers.get('retry-after')) >= 1);
    for (const path of refreshPaths) {
      const refresh = await post(path, json({ deploymentKey: 'dk_flood_test', token: 'abc.def' }));
      assert.equal(refresh.status, 429);
    }
  });

  test('GET /healthz and GET /readyz of the edge and of the API: 200', async () => {
    for (const base of [stack.urls.edge, stack.urls.api]) {
      const health = conforms('GET', '/healthz', await receive(await fetch(`${base}/healthz`)));
      assert.deepEqual([health.status, health.body], [200, { status: 'ok' }]);
      const ready = conforms('GET', '/readyz', await receive(await fetch(`${base}/readyz`)));
      assert.deepEqual([ready.status, ready.body], [200, { status: 'ready' }]);
    }
  });

  test('every path of the document, with a method it does not list (TRACE too): 405 with Allow, as documented', async () => {
    const document = openApiDocument();
    for (const [path, item] of Object.entries(document.paths ?? {})) {
      const listed = (['get', 'post', 'options'] as const)
        .filter((m) => item?.[m])
        .map((m) => m.toUpperCase());
      for (const method of [
        'PUT',
        'DELETE',
        'PATCH',
        'TRACE',
        ...['GET', 'POST'].filter((m) => !listed.includes(m)),
      ]) {
        const answer = await httpRequest(`${stack.urls.edge}${path}`, { method });
        const res: ReceivedResponse = {
          status: answer.status,
          headers: new Headers(
            Object.entries(answer.headers).flatMap(([k, v]) => (typeof v === 'string' ? [[k, v]] : [])),
          ),
          body: answer.body,
        };
        assert.equal(res.status, 405, `${method} ${path}`);
        assert.deepEqual(check(method, path, res, 'MethodNotAllowed'), [], `${method} ${path}`);
        for (const m of listed)
          assert.ok(res.headers.get('allow')?.split(', ').includes(m), `${path} allows ${m}`);
        seen.add('MethodNotAllowed');
      }
    }
  });

  test('503 + Retry-After: no worker (deadline), Temporal down (/readyz), the API down (the edge)', async () => {
    await terminate(stack.processes.get('worker')!);
    const create = await post(tokenPath, json({ deploymentKey: 'dk_demo_open' }));
    assert.deepEqual(
      [create.status, codeOf(create), create.headers.get('retry-after')],
      [503, 'unavailable', '2'],
    );
    for (const path of refreshPaths) {
      const refresh = await post(path, json({ deploymentKey: 'dk_demo_open', token: 'abc.def.ghi.jkl.mno' }));
      assert.equal(refresh.status, 503);
    }

    await terminate(stack.processes.get('temporal')!);
    const notReady = conforms('GET', '/readyz', await receive(await fetch(`${stack.urls.api}/readyz`)));
    assert.deepEqual([notReady.status, notReady.body], [503, { status: 'not_ready' }]);

    await terminate(stack.processes.get('api')!);
    const edgeOnly = await post(tokenPath, json({ deploymentKey: 'dk_demo_open' }));
    assert.deepEqual([edgeOnly.status, edgeOnly.headers.get('retry-after')], [503, '1']);
    // The edge's own /readyz: not ready once its one API is out of rotation.
    const edgeReady = conforms('GET', '/readyz', await receive(await fetch(`${stack.urls.edge}/readyz`)));
    assert.deepEqual([edgeReady.status, edgeReady.body], [503, { status: 'not_ready' }]);
  });

  test('every status the document lists was produced and checked above', () => {
    const documented = Object.entries(openApiDocument().paths ?? {}).flatMap(([path, item]) =>
      (['get', 'post', 'options'] as const).flatMap((method) =>
        Object.keys(item?.[method]?.responses ?? {}).map(
          (status) => `${method.toUpperCase()} ${path} ${status}`,
        ),
      ),
    );
    documented.push(...Object.keys(openApiDocument().components?.responses ?? {}));
    assert.deepEqual(
      documented.filter((entry) => !seen.has(entry)),
      [],
    );
  });
});
