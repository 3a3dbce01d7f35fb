import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { openApiDocument } from '../../api/openApi';
import { responseChecker, validateDocument } from '../helpers/openApiValidator';

/**
 * The document on its own, and the checker the conformance test (test/e2e/openApi.test.ts) relies on: it must
 * catch each kind of drift, or that test could not fail.
 */
describe('the OpenAPI document', () => {
  const document = openApiDocument();
  const check = responseChecker(document);
  const headers = (extra: Record<string, string> = {}) =>
    new Headers({
      'content-type': 'application/json; charset=utf-8',
      'access-control-allow-origin': '*',
      'x-request-id': 'req-0000-0001',
      ...extra,
    });
  const issued = {
    token: 'eyJhbGciOiJkaXIi.x.y.z.w',
    identity: '7d0c6f0e-3c1d-4a8e-9a55-3f1c2b7d9e10',
    expiration: '2026-11-26T13:00:00.000Z',
  };

  test('is valid OpenAPI 3.1; a document without info is not', () => {
    assert.deepEqual(validateDocument(document), []);
    const { info: _info, ...broken } = document;
    assert.notDeepEqual(validateDocument(broken), []);
  });

  test('documents both token routes, their preflights, health, readiness and itself', () => {
    assert.deepEqual(Object.keys(document.paths ?? {}).sort(), [
      '/healthz',
      '/openapi.json',
      '/readyz',
      '/v2/Webchat/Token',
      '/v2/Webchat/Token/Refresh',
      '/v2/Webchat/Tokens/Refresh',
    ]);
    const create = document.paths?.['/v2/Webchat/Token']?.post;
    assert.deepEqual(Object.keys(create?.responses ?? {}).sort(), [
      '200',
      '400',
      '403',
      '413',
      '415',
      '429',
      '503',
    ]);
    assert.deepEqual(
      Object.keys(create?.requestBody && 'content' in create.requestBody ? create.requestBody.content : {}),
      ['application/json', 'application/x-www-form-urlencoded'],
    );
  });

  test('the checker accepts a conforming 200 and flags each kind of drift', () => {
    assert.deepEqual(
      check('POST', '/v2/Webchat/Token', { status: 200, headers: headers(), body: issued }),
      [],
    );
    assert.deepEqual(check('POST', '/v2/Webchat/Token', { status: 418, headers: headers(), body: {} }), [
      'POST /v2/Webchat/Token: status 418 is not documented (documented: 200, 400, 403, 413, 415, 429, 503)',
    ]);
    const badIdentity = check('POST', '/v2/Webchat/Token', {
      status: 200,
      headers: headers(),
      body: { ...issued, identity: 'x' },
    });
    assert.ok(badIdentity.includes('POST /v2/Webchat/Token 200: body /identity must match format "uuid"'));
    assert.deepEqual(
      check('POST', '/v2/Webchat/Token', {
        status: 403,
        headers: headers(),
        body: { code: 'unavailable', message: 'No.' },
      }),
      ['POST /v2/Webchat/Token 403: body /code must be equal to one of the allowed values'],
    );
    const noRetryAfter = check('POST', '/v2/Webchat/Token/Refresh', {
      status: 503,
      headers: headers(),
      body: { code: 'unavailable', message: 'Later.' },
    });
    assert.deepEqual(noRetryAfter, ['POST /v2/Webchat/Token/Refresh 503: header Retry-After is missing']);
    const badRetryAfter = check('POST', '/v2/Webchat/Token', {
      status: 429,
      headers: headers({ 'retry-after': 'soon' }),
      body: { code: 'rate_limited', message: 'Slow down.' },
    });
    assert.deepEqual(badRetryAfter, [
      'POST /v2/Webchat/Token 429: header Retry-After / must match pattern "^[1-9][0-9]*$"',
    ]);
    const noAcao = new Headers({ 'content-type': 'application/json', 'x-request-id': 'req-0000-0001' });
    assert.deepEqual(check('GET', '/healthz', { status: 200, headers: noAcao, body: { status: 'ok' } }), [
      'GET /healthz 200: header Access-Control-Allow-Origin is missing',
    ]);
  });
});
