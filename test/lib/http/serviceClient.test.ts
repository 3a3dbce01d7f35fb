import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { jwtVerify } from 'jose';
import { z } from 'zod';
import {
  createServiceClient,
  okBody,
  ServiceReplyError,
  ServiceTransportError,
  type ServiceClient,
} from '../../../lib/http/serviceClient';
import { bodyHash, createServiceCredentials } from '../../../lib/serviceAuth';

/** The one internal service client against a scripted upstream: what it sends, its deadline, its errors. */
describe('internal service client', () => {
  const secret = randomBytes(32);
  let answer: (req: IncomingMessage, res: ServerResponse, body: string) => void;
  const seen: { url: string | undefined; headers: IncomingMessage['headers']; body: string }[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      seen.push({ url: req.url, headers: req.headers, body });
      answer(req, res, body);
    });
  });
  let url: string;
  let client: ServiceClient;
  const schema = z.object({ token: z.string() });

  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/prefix`;
    client = createServiceClient({
      baseUrl: url,
      service: 'scoped-auth',
      credentials: await createServiceCredentials({
        issuer: 'federated-auth',
        audience: 'scoped-auth',
        secret,
      }),
      timeoutMs: 300,
    });
  });
  after(async () => {
    await client.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  test('a fresh credential for this one request, the request id, JSON; the parsed 200 body back', async () => {
    answer = (_req, res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"token":"t","extra":1}');
    seen.length = 0;
    const body = { a: 1 };
    assert.deepEqual(await client.call('/v1/x', body, schema, { requestId: 'req-client-0001' }), {
      token: 't',
    });
    await client.call('/v1/x', body, schema, { requestId: 'req-client-0002' });
    const [first, second] = seen;
    assert.ok(first && second);
    assert.equal(first.url, '/prefix/v1/x');
    assert.equal(first.headers['x-request-id'], 'req-client-0001');
    assert.equal(first.headers['content-type'], 'application/json');
    assert.equal(first.body, '{"a":1}');
    const credential = String(first.headers.authorization).replace(/^Bearer /, '');
    const { payload } = await jwtVerify(credential, secret, {
      audience: 'scoped-auth',
      issuer: 'federated-auth',
    });
    assert.equal(payload.htm, 'POST');
    assert.equal(payload.htp, '/prefix/v1/x');
    assert.equal(payload.bsh, bodyHash('{"a":1}'));
    assert.notEqual(first.headers.authorization, second.headers.authorization, 'one credential per request');
  });

  test('another status, or a 200 that does not match: ServiceReplyError, without the body', async () => {
    answer = (_req, res) => res.writeHead(400, { 'content-type': 'application/json' }).end('{"code":"no"}');
    const reply = await client.post('/v1/x', {}, { requestId: 'req-client-0003' });
    assert.deepEqual(reply, { service: 'scoped-auth', path: '/v1/x', status: 400, body: { code: 'no' } });
    assert.throws(
      () => okBody(reply, schema),
      (err: unknown) =>
        err instanceof ServiceReplyError && err.code === 'unexpected_status' && err.status === 400,
    );
    answer = (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"secret":"x"}');
    await assert.rejects(
      client.call('/v1/x', {}, schema, { requestId: 'req-client-0004' }),
      (err: unknown) =>
        err instanceof ServiceReplyError &&
        err.code === 'malformed_reply' &&
        !JSON.stringify({ ...err, message: err.message }).includes('secret'),
    );
  });

  test('the deadline covers the body too: headers on time, a body that never ends, a timeout', async () => {
    answer = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"token":');
    };
    const started = Date.now();
    await assert.rejects(
      client.call('/v1/x', {}, schema, { requestId: 'req-client-0005' }),
      (err: unknown) => err instanceof ServiceTransportError && err.code === 'timeout',
    );
    assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms`);
  });

  test("the caller's signal cancels the call", async () => {
    answer = () => {
      /* never answers */
    };
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    await assert.rejects(
      client.post('/v1/x', {}, { requestId: 'req-client-0006', signal: controller.signal }),
      (err: unknown) => err instanceof ServiceTransportError && err.code === 'cancelled',
    );
  });

  test('nothing listening: connection_failed', async () => {
    const down = createServiceClient({
      baseUrl: 'http://127.0.0.1:9',
      service: 'federated-auth',
      credentials: { authorization: () => Promise.resolve('Bearer x') },
      timeoutMs: 1000,
    });
    try {
      await assert.rejects(
        down.post('/v1/x', {}, { requestId: 'req-client-0007' }),
        (err: unknown) =>
          err instanceof ServiceTransportError &&
          err.code === 'connection_failed' &&
          err.service === 'federated-auth',
      );
    } finally {
      await down.close();
    }
  });
});
