import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createApp } from '../../api/app';
import type { TokenRuns } from '../../api/tokenRuns';
import { noRefresh } from '../helpers/tokenRuns';
import { createLogger } from '../../lib/logger';
import { serve, type Served } from '../../lib/http/serve';
import { parseResponse } from '../helpers/rawHttp';

const issuer: TokenRuns = {
  ...noRefresh,
  runCreate: () =>
    Promise.resolve({
      outcome: 'issued',
      accountSid: 'AC' + '0'.repeat(32),
      token: 'tok',
      identity: 'id',
      expiration: '2030-01-01T00:00:00.000Z',
      cors: { allowOrigin: '*', vary: false },
    }),
  ready: () => Promise.resolve(true),
};

/**
 * A client that trickles one byte every `everyMs` and never finishes; resolves with what the server sent when
 * it closed the connection, and how many bytes the client got out before that.
 */
function trickle(url: string, head: string, everyMs: number): Promise<{ answer: Buffer; sent: number }> {
  const { hostname, port } = new URL(url);
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
      resolve({ answer: Buffer.concat(chunks), sent });
    });
  });
}

describe('slow clients (slowloris) are cut off without blocking others', () => {
  let served: Served;
  before(async () => {
    const app = createApp({ runs: issuer, logger: createLogger('api-test', 'silent'), deadlineMs: 1000 });
    served = await serve(app, 0, '127.0.0.1', { requestTimeoutMs: 1000 });
  });
  after(() => served.close());

  const normal = () =>
    fetch(`${served.url}/v2/Webchat/Token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ deploymentKey: 'dk_demo_open' }),
      signal: AbortSignal.timeout(5000),
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
    test(`${what}: 408 JSON while 20 other clients are served`, async () => {
      // 10 slow clients at one byte per 100 ms would need far longer than the 1 s request timeout to finish.
      const slow = Array.from({ length: 10 }, () => trickle(served.url, head, 100));
      const others = await Promise.all(Array.from({ length: 20 }, normal));
      assert.deepEqual(
        others.map((r) => r.status),
        Array.from({ length: 20 }, () => 200),
      );
      for (const { answer, sent } of await Promise.all(slow)) {
        assert.ok(sent < head.length, `cut off after ${sent} of ${head.length} bytes`);
        const res = parseResponse(answer);
        assert.equal(res.status, 408);
        assert.deepEqual(JSON.parse(res.body.toString()), {
          code: 'request_timeout',
          message: 'The request took too long to arrive.',
        });
      }
    });
  }
});
