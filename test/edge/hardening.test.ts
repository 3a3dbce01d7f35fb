import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import { connect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { loadEdgeConfig } from '../../edge/config';
import { startEdge } from '../../edge/start';
import type { Served } from '../../lib/http/serve';
import { createLogger } from '../../lib/logger';
import { parseResponse, rawRequest, type RawResponse } from '../helpers/rawHttp';

const requestTimeoutMs = 600;

/**
 * A client that trickles one byte every `everyMs` and never finishes; resolves with what the edge sent when it
 * closed the connection, how many bytes got out before that, and how long it took.
 */
function trickle(
  url: string,
  head: string,
  everyMs: number,
): Promise<{ answer: Buffer; sent: number; ms: number }> {
  const { hostname, port } = new URL(url);
  const started = performance.now();
  return new Promise((resolve) => {
    const socket: Socket = connect({ host: hostname, port: Number(port) });
    const chunks: Buffer[] = [];
    let sent = 0;
    const timer = setInterval(() => {
      if (socket.writable && sent < head.length) socket.write(head[sent++]!);
    }, everyMs);
    socket.on('data', (c) => chunks.push(c));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearInterval(timer);
      resolve({ answer: Buffer.concat(chunks), sent, ms: performance.now() - started });
    });
  });
}

function assertJsonError(res: RawResponse, status: number, code: string, message: string): void {
  assert.equal(res.status, status);
  assert.match(res.headers['content-type'] ?? '', /^application\/json/);
  assert.equal(res.headers['access-control-allow-origin'], '*');
  assert.deepEqual(JSON.parse(res.body.toString('utf8')), { code, message });
}

describe('the edge answers bad requests with JSON errors, on time', () => {
  let upstreamCalls = 0;
  const upstream = http.createServer((req, res) => {
    if (req.url !== '/readyz') upstreamCalls++;
    req.resume();
    req.on('end', () => res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"ok":true}'));
  });
  let edge: Served;

  before(async () => {
    upstream.listen(0, '127.0.0.1');
    await once(upstream, 'listening');
    const { port } = upstream.address() as { port: number };
    edge = await startEdge(
      loadEdgeConfig({
        EDGE_PORT: '0',
        API_URL: `http://127.0.0.1:${port}`,
        EDGE_MAX_BODY_BYTES: '1024',
        HTTP_REQUEST_TIMEOUT_MS: String(requestTimeoutMs),
      }),
      createLogger('edge-test', 'silent'),
    );
  });
  after(async () => {
    await edge.close();
    upstream.closeAllConnections();
    await new Promise((resolve) => upstream.close(resolve));
  });

  const raw = (text: string) => rawRequest(edge.url, Buffer.from(text, 'latin1'));

  test('a malformed request: 400 invalid_request', async () => {
    assertJsonError(
      await raw('POST /v2/Webchat/Token HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n'),
      400,
      'invalid_request',
      'The request is not valid HTTP.',
    );
    assertJsonError(
      await raw('NOT HTTP AT ALL\r\n\r\n'),
      400,
      'invalid_request',
      'The request is not valid HTTP.',
    );
  });

  test('headers too large: 431 headers_too_large', async () => {
    const res = await raw(
      `GET /v2/Webchat/Token HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
    );
    assertJsonError(res, 431, 'headers_too_large', 'The request headers are too large.');
  });

  test('a body over EDGE_MAX_BODY_BYTES, declared or chunked: 413 payload_too_large, the API never called', async () => {
    const before = upstreamCalls;
    const body = `{"deploymentKey":"${'a'.repeat(2000)}"}`;
    const declared = await raw(
      `POST /v2/Webchat/Token HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
    );
    assertJsonError(declared, 413, 'payload_too_large', 'The request body is too large.');
    const chunk = (text: string) => `${text.length.toString(16)}\r\n${text}\r\n`;
    const chunked = await raw(
      'POST /v2/Webchat/Token HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n' +
        chunk(body.slice(0, 800)) +
        chunk(body.slice(800)) +
        '0\r\n\r\n',
    );
    assertJsonError(chunked, 413, 'payload_too_large', 'The request body is too large.');
    assert.equal(upstreamCalls, before);
    // A body within the limit, chunked, still goes through (over http.request: the raw client's half-close
    // would read as a client that went away).
    const small = await new Promise<number>((resolve, reject) => {
      const req = http.request(`${edge.url}/v2/Webchat/Token`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
      });
      req.on('error', reject);
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.write('{"deploymentKey":');
      req.end('"dk"}');
    });
    assert.equal(small, 200);
    assert.equal(upstreamCalls, before + 1);
  });

  for (const [what, head] of [
    ['headers that never end', 'POST /v2/Webchat/Token HTTP/1.1\r\nHost: x\r\nX-Slow: ' + 'a'.repeat(500)],
    [
      'a body that never ends',
      'POST /v2/Webchat/Token HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 400\r\n\r\n' +
        '{"deploymentKey":"' +
        'a'.repeat(400),
    ],
  ] as const) {
    test(`${what}: 408 request_timeout within the request timeout, not 30 s later`, async () => {
      const before = upstreamCalls;
      const slow = await Promise.all(Array.from({ length: 5 }, () => trickle(edge.url, head, 50)));
      for (const { answer, sent, ms } of slow) {
        assert.ok(sent < head.length, `cut off after ${sent} of ${head.length} bytes`);
        // Node checks its timeouts every connectionsCheckingInterval (a quarter of the timeout here).
        assert.ok(ms < requestTimeoutMs * 2.5, `answered after ${Math.round(ms)} ms`);
        const res = parseResponse(answer);
        assertJsonError(res, 408, 'request_timeout', 'The request took too long to arrive.');
      }
      assert.equal(upstreamCalls, before, 'nothing half-received reaches the API');
    });
  }
});
