import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { payloadToJSON } from '@temporalio/common/lib/proto-utils';
import { randomPorts, startStack, type Stack } from '../../scripts/stack';
import { serviceAuthorization } from '../../scripts/stack/serviceAuthorization';
import { httpRequest } from '../helpers/httpRequest';

/** Per client (an IPv4 address, an IPv6 /64) and per deployment key's total, on this stack's API. */
const IP_LIMIT = 4;
const KEY_TOTAL = 100;

/**
 * The attacks of issue 20's security review, each sent as a request sequence against the whole stack as
 * `make start` runs it (separate processes, real HTTP, the dev server), each refused. The edge trusts this test
 * as its load balancer (EDGE_TRUSTED_PROXIES=127.0.0.1), so the test can speak for clients on any network.
 */
describe('issue 20: the attacks, against the stack', () => {
  let stack: Stack;
  let dataDir: string;
  const logs: string[] = [];

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'webchat-attacks-'));
    stack = await startStack({
      ports: await randomPorts(),
      dataDir,
      logLevel: 'warn',
      output: (name, line) => logs.push(`[${name}] ${line}`),
      envFor: {
        api: {
          RATE_LIMIT_IP_POINTS: String(IP_LIMIT),
          RATE_LIMIT_KEY_TOTAL_POINTS: String(KEY_TOTAL),
        },
        edge: { EDGE_TRUSTED_PROXIES: '127.0.0.1' },
      },
    });
  });
  after(async () => {
    await stack?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  const token = (base: string, deploymentKey: string, forwardedFor?: string, localAddress?: string) =>
    httpRequest(`${base}/v2/Webchat/Token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(forwardedFor ? { 'x-forwarded-for': forwardedFor } : {}),
      },
      body: JSON.stringify({ deploymentKey }),
      ...(localAddress ? { localAddress } : {}),
    });

  test('2. a flood from one IPv6 /48, a new /64 per request, spends a tenth of the key’s total; visitors elsewhere get tokens', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < KEY_TOTAL / 10 + 3; i++) {
      statuses.push(
        (await token(stack.urls.edge, 'dk_demo_open', `2001:db8:4800:${i.toString(16)}::1`)).status,
      );
    }
    assert.deepEqual(statuses, [...Array<number>(KEY_TOTAL / 10).fill(200), 429, 429, 429]);
    assert.equal((await token(stack.urls.edge, 'dk_demo_open', '2001:db8:4801::1')).status, 200);
    assert.equal((await token(stack.urls.edge, 'dk_demo_open', '198.51.100.20')).status, 200);
  });

  test('3. the codec server encrypts nothing for a caller: POST /encode is 404', async () => {
    const res = await httpRequest(`${stack.urls.codec}/encode`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', host: new URL(stack.urls.codec).host },
      body: JSON.stringify({
        payloads: [
          payloadToJSON({
            metadata: { encoding: Buffer.from('json/plain') },
            data: Buffer.from('{"deploymentKey":"dk_demo_open","signals":{"clientIp":"6.6.6.6"}}'),
          }),
        ],
      }),
    });
    assert.deepEqual([res.status, res.body], [404, { code: 'not_found', message: 'No such route.' }]);
  });

  test('4. a FAS -> SAS credential seen once: refused with another body, refused as is, minting nothing', async () => {
    const url = `${stack.urls.sas}/v1/ScopedAuthTokens/generate/internal`;
    const body = JSON.stringify({
      accountSid: 'AC' + '2'.repeat(32),
      grants: { webchat: { addressSid: 'IS' + '0'.repeat(32) } },
      ttl: 600,
      encrypt: true,
    });
    const captured = await serviceAuthorization(dataDir, 'federated-auth', 'scoped-auth', { url, body });
    const send = (text: string) =>
      httpRequest(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: captured },
        body: text,
      });
    const unauthorized = { code: 'unauthorized', message: 'A valid service credential is required.' };
    for (const other of [
      body.replace('2222', '3333'), // another account
      body.replace('"ttl":600', '"ttl":86400'), // a longer token
    ]) {
      const res = await send(other);
      assert.deepEqual([res.status, res.body], [401, unauthorized]);
    }
    assert.equal((await send(body)).status, 200, 'the one request it was made for');
    const replayed = await send(body);
    assert.deepEqual([replayed.status, replayed.body], [401, unauthorized]);
  });

  test('5. beside the edge (from 127.0.0.2), a new X-Forwarded-For per request: the peer is the client, limited', async () => {
    const statuses: number[] = [];
    for (let i = 1; i <= IP_LIMIT + 2; i++) {
      statuses.push((await token(stack.urls.api, 'dk_demo_open', `192.0.2.${i}`, '127.0.0.2')).status);
    }
    assert.deepEqual(statuses, [...Array<number>(IP_LIMIT).fill(200), 429, 429]);
  });

  test('7. TRACE on the token routes is 405 with Allow through the edge; the edge serves /readyz', async () => {
    for (const path of ['/v2/Webchat/Token', '/v2/Webchat/Token/Refresh', '/v2/Webchat/Tokens/Refresh']) {
      const res = await httpRequest(`${stack.urls.edge}${path}`, { method: 'TRACE' });
      assert.deepEqual([res.status, res.headers.allow], [405, 'OPTIONS, POST'], path);
      assert.equal(res.headers['access-control-allow-origin'], '*');
    }
    const ready = await httpRequest(`${stack.urls.edge}/readyz`);
    assert.deepEqual([ready.status, ready.body], [200, { status: 'ready' }]);
  });
});
