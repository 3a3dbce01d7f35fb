import assert from 'node:assert/strict';
import { once } from 'node:events';
import http, { type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { loadEdgeConfig } from '../../edge/config';
import { startEdge } from '../../edge/start';
import { type Served } from '../../lib/http/serve';
import { createLogger } from '../../lib/logger';

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const timeout = 10_000; // per suite: a broken edge that hangs fails the run instead of stalling it
const proxyTimeoutMs = 300;

interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

interface Upstream {
  url: string;
  received: Received[];
  /** Resolves when the upstream sees the request for `/v2/Webchat/Slow` closed by the edge. */
  slowClosed: Promise<void>;
  close(): Promise<void>;
}

/** A stand-in for the API that records what reached it and answers per path. */
async function startUpstream(): Promise<Upstream> {
  const received: Received[] = [];
  const held: ServerResponse[] = [];
  let onSlowClosed = () => {};
  const slowClosed = new Promise<void>((resolve) => (onSlowClosed = resolve));
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      if (req.url === '/readyz') {
        // The edge's health check, not a forwarded request: answered, not recorded.
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end('{"status":"ready"}');
        return;
      }
      received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      const path = (req.url ?? '').split('?')[0];
      const json = (status: number, value: unknown, headers: Record<string, string> = {}) => {
        res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', ...headers });
        res.end(JSON.stringify(value));
      };
      if (req.method === 'OPTIONS') {
        res.writeHead(204, {
          'Access-Control-Allow-Origin': 'https://shop.example.com',
          'Access-Control-Allow-Methods': 'POST, OPTIONS',
          'Access-Control-Max-Age': '7200',
          Vary: 'Origin',
        });
        res.end();
      } else if (path === '/openapi.json') {
        json(200, { openapi: '3.1.0' });
      } else if (path === '/v2/Webchat/Token') {
        json(201, { contentType: req.headers['content-type'], body }, { 'X-Upstream': 'yes' });
      } else if (path === '/v2/Webchat/Denied') {
        // The source design's literal comma list: the edge must not "fix" it, only pass it through.
        json(
          403,
          { code: 'invalid_deployment_key', message: 'Unknown key.' },
          { 'Access-Control-Allow-Origin': 'https://a.example.com,https://*.b.example.com', Vary: 'Origin' },
        );
      } else if (path === '/v2/Webchat/Slow') {
        held.push(res);
        res.once('close', onSlowClosed);
      } else if (path === '/v2/Webchat/Delayed') {
        setTimeout(() => json(200, { late: true }), 150);
      } else if (path === '/v2/Webchat/Broken') {
        res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': '100' });
        res.write('{"partial":');
        setTimeout(() => res.socket?.destroy(), 20);
      } else {
        json(404, { code: 'not_found', message: 'upstream 404' });
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    slowClosed,
    close: () => {
      for (const res of held) res.destroy();
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A raw HTTP request: no fetch, so forged forwarding headers and odd paths go out exactly as written. */
function send(
  base: string,
  path: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string; agent?: http.Agent } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    // Options rather than a URL string: a URL would be normalised (`/a/../b` → `/b`) before it is sent.
    const { hostname, port } = new URL(base);
    const req = http.request({
      hostname,
      port,
      path,
      method: opts.method ?? 'GET',
      headers: opts.headers,
      agent: opts.agent ?? false,
    });
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        if (!res.complete) reject(new Error('response ended before it was complete'));
        else
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString(),
          });
      });
    });
    req.end(opts.body);
  });
}

/** Captures the edge's log lines, to check what is (and is never) logged. */
function captureLogs() {
  const lines: string[] = [];
  const logger = createLogger('edge', 'info', { write: (line: string) => void lines.push(line) });
  const entries = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  return { logger, lines, entries };
}

async function edgeFor(apiUrl: string, logger = captureLogs().logger): Promise<Served> {
  const config = loadEdgeConfig({
    EDGE_PORT: '0',
    API_URL: apiUrl,
    EDGE_PROXY_TIMEOUT_MS: String(proxyTimeoutMs),
  });
  return startEdge(config, logger);
}

function assertUnavailable(reply: Reply): void {
  assert.equal(reply.status, 503);
  assert.deepEqual(JSON.parse(reply.body), {
    code: 'unavailable',
    message: 'The service is unavailable, try again.',
  });
  assert.equal(reply.headers['retry-after'], '1');
  assert.equal(reply.headers['access-control-allow-origin'], '*');
  assert.match(reply.headers['content-type'] ?? '', /^application\/json/);
}

void describe('edge forwarding to a live API', { timeout }, () => {
  let upstream: Upstream;
  let edge: Served;
  const logs = captureLogs();
  const lastReceived = () => upstream.received.at(-1);

  before(async () => {
    upstream = await startUpstream();
    edge = await edgeFor(upstream.url, logs.logger);
  });
  after(async () => {
    await edge.close();
    await upstream.close();
  });

  void it('passes the API’s Access-Control-Allow-Origin through unchanged, with status and body', async () => {
    const reply = await send(edge.url, '/v2/Webchat/Denied', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Origin: 'https://evil.example' },
      body: '{"deploymentKey":"nope"}',
    });
    assert.equal(reply.status, 403);
    assert.equal(
      reply.headers['access-control-allow-origin'],
      'https://a.example.com,https://*.b.example.com',
    );
    assert.equal(reply.headers.vary, 'Origin');
    assert.deepEqual(JSON.parse(reply.body), { code: 'invalid_deployment_key', message: 'Unknown key.' });
  });

  void it('sets Access-Control-Allow-Origin to * when the API sent none', async () => {
    const reply = await send(edge.url, '/v2/Webchat/Token', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{}',
    });
    assert.equal(reply.status, 201);
    assert.equal(reply.headers['access-control-allow-origin'], '*');
    assert.equal(reply.headers['x-upstream'], 'yes');
  });

  void it('forwards a form-encoded POST body and passes the status and body back', async () => {
    const form = 'DeploymentKey=dk_123&CustomerFriendlyName=Ada%20L';
    const reply = await send(edge.url, '/v2/Webchat/Token', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: form,
    });
    assert.deepEqual(lastReceived()?.body, form);
    assert.equal(lastReceived()?.headers['content-type'], 'application/x-www-form-urlencoded');
    assert.equal(reply.status, 201);
    assert.deepEqual(JSON.parse(reply.body), {
      contentType: 'application/x-www-form-urlencoded',
      body: form,
    });
  });

  void it('forwards a JSON POST body byte for byte', async () => {
    const json = '{"deploymentKey":"dk_ünïcode"}';
    const reply = await send(edge.url, '/v2/Webchat/Token', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: json,
    });
    assert.equal(lastReceived()?.method, 'POST');
    assert.equal(lastReceived()?.body, json);
    assert.deepEqual(JSON.parse(reply.body), { contentType: 'application/json', body: json });
  });

  void it('forwards an OPTIONS preflight and passes the API’s answer back', async () => {
    const reply = await send(edge.url, '/v2/Webchat/Token', {
      method: 'OPTIONS',
      headers: {
        Origin: 'https://shop.example.com',
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'content-type',
      },
    });
    assert.equal(lastReceived()?.method, 'OPTIONS');
    assert.equal(lastReceived()?.headers['access-control-request-method'], 'POST');
    assert.equal(lastReceived()?.headers.origin, 'https://shop.example.com');
    assert.equal(reply.status, 204);
    assert.equal(reply.headers['access-control-allow-origin'], 'https://shop.example.com');
    assert.equal(reply.headers['access-control-allow-methods'], 'POST, OPTIONS');
    assert.equal(reply.headers['access-control-max-age'], '7200');
  });

  void it('replaces forged forwarding headers with the client’s socket address, proto and host', async () => {
    await send(edge.url, '/v2/Webchat/Token', {
      method: 'POST',
      headers: {
        Host: 'chat.example.com',
        'Content-Type': 'application/json',
        'X-Forwarded-For': '6.6.6.6, 7.7.7.7',
        'X-Forwarded-Proto': 'https',
        'X-Forwarded-Host': 'evil.example',
        Forwarded: 'for=6.6.6.6',
        'X-Real-IP': '6.6.6.6',
      },
      body: '{}',
    });
    const headers = lastReceived()?.headers ?? {};
    assert.equal(headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(headers['x-forwarded-proto'], 'http');
    assert.equal(headers['x-forwarded-host'], 'chat.example.com');
    assert.equal(headers.forwarded, undefined);
    assert.equal(headers['x-real-ip'], undefined);
  });

  void it('drops the client’s traceparent, tracestate and baggage', async () => {
    await send(edge.url, '/v2/Webchat/Token', {
      method: 'POST',
      headers: {
        traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
        tracestate: 'vendor=client',
        baggage: 'userId=forged',
      },
      body: '{}',
    });
    const headers = lastReceived()?.headers ?? {};
    assert.deepEqual(
      [headers.traceparent, headers.tracestate, headers.baggage],
      [undefined, undefined, undefined],
    );
  });

  void it('sets X-Forwarded-For even when the client sent none', async () => {
    await send(edge.url, '/v2/Webchat/Token', { method: 'POST', body: '' });
    assert.equal(lastReceived()?.headers['x-forwarded-for'], '127.0.0.1');
  });

  void it('generates an X-Request-Id when the client sent none, and answers with the same one', async () => {
    const reply = await send(edge.url, '/v2/Webchat/Token', { method: 'POST', body: '' });
    const sent = lastReceived()?.headers['x-request-id'];
    assert.match(String(sent), uuid);
    assert.equal(reply.headers['x-request-id'], sent);
  });

  void it('passes a well-formed X-Request-Id through', async () => {
    const reply = await send(edge.url, '/v2/Webchat/Token', {
      method: 'POST',
      headers: { 'X-Request-Id': 'req_0123.abc-XYZ' },
      body: '',
    });
    assert.equal(lastReceived()?.headers['x-request-id'], 'req_0123.abc-XYZ');
    assert.equal(reply.headers['x-request-id'], 'req_0123.abc-XYZ');
  });

  for (const bad of ['short', 'has space in it', 'x'.repeat(65), 'semi;colon;id']) {
    void it(`replaces a malformed X-Request-Id (${JSON.stringify(bad.slice(0, 16))})`, async () => {
      await send(edge.url, '/v2/Webchat/Token', {
        method: 'POST',
        headers: { 'X-Request-Id': bad },
        body: '',
      });
      assert.match(String(lastReceived()?.headers['x-request-id']), uuid);
    });
  }

  void it('answers 503 JSON, in bounded time, when the API is slower than the timeout, and drops the upstream call', async () => {
    const reply = await send(edge.url, '/v2/Webchat/Slow', { method: 'POST', body: '{}' });
    assertUnavailable(reply);
    await upstream.slowClosed; // the edge does not leave the request hanging on the API either
  });

  void it('cuts the client connection when the API dies mid-body, and keeps serving', async () => {
    await assert.rejects(send(edge.url, '/v2/Webchat/Broken', { method: 'POST', body: '{}' }));
    const health = await send(edge.url, '/healthz');
    assert.equal(health.status, 200);
  });

  void it('answers 404 JSON with ACAO * for a path outside /v2/Webchat/, without calling the API', async () => {
    const before = upstream.received.length;
    for (const path of ['/', '/v2/Webchat', '/v1/Accounts/AC1/Tokens', '/.well-known/jwks.json']) {
      const reply = await send(edge.url, path, { method: 'POST', body: '{}' });
      assert.equal(reply.status, 404, path);
      assert.deepEqual(JSON.parse(reply.body), { code: 'not_found', message: 'No such route.' });
      assert.equal(reply.headers['access-control-allow-origin'], '*');
      assert.match(reply.headers['content-type'] ?? '', /^application\/json/);
    }
    assert.equal(upstream.received.length, before);
  });

  void it('forwards GET /openapi.json (the API renders it), and nothing else of that path', async () => {
    const reply = await send(edge.url, '/openapi.json');
    assert.equal(reply.status, 200);
    assert.deepEqual(JSON.parse(reply.body), { openapi: '3.1.0' });
    assert.equal(lastReceived()?.url, '/openapi.json');
    assert.match(String(reply.headers['x-request-id']), uuid);
    const before = upstream.received.length;
    for (const [method, path] of [
      ['GET', '/openapi.json/x'],
      ['GET', '/openapi.yaml'],
    ] as const) {
      const refused = await send(edge.url, path, { method });
      assert.equal(refused.status, 404, `${method} ${path}`);
    }
    assert.equal(upstream.received.length, before);
  });

  void it('answers another method on its own paths with 405, Allow and ACAO *, without calling the API', async () => {
    const before = upstream.received.length;
    for (const path of ['/openapi.json', '/healthz', '/readyz']) {
      for (const method of ['POST', 'PUT', 'DELETE', 'OPTIONS', 'TRACE', 'QUERY']) {
        const reply = await send(edge.url, path, { method });
        assert.equal(reply.status, 405, `${method} ${path}`);
        assert.equal(reply.headers.allow, 'GET, HEAD');
        assert.equal(reply.headers['access-control-allow-origin'], '*');
        assert.deepEqual(JSON.parse(reply.body), {
          code: 'method_not_allowed',
          message: 'Method not allowed.',
        });
      }
    }
    assert.equal(upstream.received.length, before);
  });

  void it('forwards any method on the API’s paths: the API says which it serves', async () => {
    await send(edge.url, '/v2/Webchat/Token', { method: 'TRACE' });
    assert.deepEqual([lastReceived()?.method, lastReceived()?.url], ['TRACE', '/v2/Webchat/Token']);
  });

  void it('does not forward a path that climbs out of /v2/Webchat/ with dot segments', async () => {
    const before = upstream.received.length;
    for (const path of [
      '/v2/Webchat/../admin',
      '/v2/Webchat/%2e%2e/admin',
      '/v2/Webchat/%2E./x',
      '/v2/Webchat/./T',
    ]) {
      const reply = await send(edge.url, path);
      assert.equal(reply.status, 404, path);
    }
    assert.equal(upstream.received.length, before);
  });

  void it('answers GET /healthz itself', async () => {
    const before = upstream.received.length;
    const reply = await send(edge.url, '/healthz');
    assert.equal(reply.status, 200);
    assert.deepEqual(JSON.parse(reply.body), { status: 'ok' });
    assert.equal(upstream.received.length, before);
  });

  void it('answers GET /readyz itself: ready while an API is in rotation', async () => {
    const before = upstream.received.length;
    const reply = await send(edge.url, '/readyz');
    assert.deepEqual([reply.status, JSON.parse(reply.body)], [200, { status: 'ready' }]);
    assert.equal(reply.headers['access-control-allow-origin'], '*');
    assert.equal(upstream.received.length, before);
  });

  void it('logs one line per request with method, path, status, duration and request id, never headers or bodies', async () => {
    await send(edge.url, '/v2/Webchat/Token?key=query-secret', {
      method: 'POST',
      headers: {
        'X-Request-Id': 'log-test-0001',
        'User-Agent': 'SecretAgent/1.0',
        'X-Forwarded-For': '6.6.6.6',
        'Content-Type': 'application/x-www-form-urlencoded',
      },
      body: 'DeploymentKey=body-secret',
    });
    await new Promise((resolve) => setImmediate(resolve)); // the line is written on the response's 'close'
    const lines = logs.entries().filter((e) => e.requestId === 'log-test-0001');
    assert.equal(lines.length, 1);
    const { method, path, status, ms, msg } = lines[0] ?? {};
    assert.deepEqual(
      { method, path, status, msg },
      { method: 'POST', path: '/v2/Webchat/Token', status: 201, msg: 'request' },
    );
    assert.equal(typeof ms, 'number');
    const all = logs.lines.join('\n');
    for (const secret of ['query-secret', 'SecretAgent', '6.6.6.6', 'body-secret']) {
      assert.ok(!all.includes(secret), `log contains ${secret}`);
    }
  });
});

void describe('edge with the API down', { timeout }, () => {
  let edge: Served;

  before(async () => {
    // A port that just had a listener and now refuses connections.
    const gone = await startUpstream();
    await gone.close();
    edge = await edgeFor(gone.url);
  });
  after(() => edge.close());

  void it('answers 503 JSON with Retry-After and ACAO *', async () => {
    const reply = await send(edge.url, '/v2/Webchat/Token', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{"deploymentKey":"dk"}',
    });
    assertUnavailable(reply);
    assert.match(String(reply.headers['x-request-id']), uuid);
  });

  void it('still answers /healthz and keeps answering 503 afterwards', async () => {
    assert.equal((await send(edge.url, '/healthz')).status, 200);
    assertUnavailable(await send(edge.url, '/v2/Webchat/Token', { method: 'OPTIONS' }));
  });

  void it('says not ready on /readyz once the refused API is out of rotation', async () => {
    const reply = await send(edge.url, '/readyz');
    assert.deepEqual([reply.status, JSON.parse(reply.body)], [503, { status: 'not_ready' }]);
  });
});

void describe('edge shutdown', { timeout }, () => {
  void it('lets an in-flight request finish, then stops accepting', async () => {
    const upstream = await startUpstream();
    const edge = await edgeFor(upstream.url);
    const agent = new http.Agent({ keepAlive: true });
    try {
      const inFlight = send(edge.url, '/v2/Webchat/Delayed', { agent });
      while (upstream.received.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      const closed = edge.close();
      const reply = await inFlight;
      assert.equal(reply.status, 200);
      assert.deepEqual(JSON.parse(reply.body), { late: true });
      assert.equal(reply.headers.connection, 'close'); // the client does not reuse a connection that is going away
      await closed; // resolves although the client keeps its keep-alive agent open
      await assert.rejects(send(edge.url, '/healthz'), { code: 'ECONNREFUSED' });
    } finally {
      agent.destroy();
      await upstream.close();
    }
  });
});

void describe('edge configuration', () => {
  void it('runs on a laptop with no environment', () => {
    assert.deepEqual(loadEdgeConfig({}), {
      HOST: '127.0.0.1',
      EDGE_PORT: 8080,
      API_URL: 'http://127.0.0.1:3000',
      EDGE_PROXY_TIMEOUT_MS: 15_000,
      EDGE_HEALTH_INTERVAL_MS: 1_000,
      EDGE_TRUSTED_PROXIES: [],
      EDGE_MAX_BODY_BYTES: 65_536,
      HTTP_REQUEST_TIMEOUT_MS: 15_000,
      LOG_LEVEL: 'info',
    });
  });

  void it('strips a trailing slash from API_URL', () => {
    assert.equal(loadEdgeConfig({ API_URL: 'http://api:3000/' }).API_URL, 'http://api:3000');
  });

  void it('fails fast naming the bad variable', () => {
    assert.throws(() => loadEdgeConfig({ EDGE_PORT: 'eighty' }), /EDGE_PORT/);
    assert.throws(() => loadEdgeConfig({ API_URL: 'ftp://api' }), /API_URL: must be an http\(s\) URL/);
    assert.throws(() => loadEdgeConfig({ EDGE_PROXY_TIMEOUT_MS: '0' }), /EDGE_PROXY_TIMEOUT_MS/);
  });
});
