import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { payloadToJSON } from '@temporalio/common/lib/proto-utils';
import { parseCodecKeys } from '../../../lib/secrets/codecKeys';
import { EncryptionCodec } from '../../../lib/codec/encryptionCodec';
import { freePorts } from '../../../scripts/stack';
import { serve } from '../../../lib/http/serve';
import { httpRequest } from '../../helpers/httpRequest';
import { createLogger } from '../../../lib/logger';
import { createCodecServerApp } from '../../../services/codec-server/app';
import { loadCodecServerConfig } from '../../../services/codec-server/config';

const ui = 'http://localhost:8233';
const authToken = randomBytes(24).toString('base64url');
const keyJson = JSON.stringify({ current: 'k1', keys: { k1: randomBytes(32).toString('base64url') } });

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * The codec server as `make start` runs it (its own process, configured by environment), called over HTTP with
 * headers `fetch` will not set: a foreign `Host`, as a DNS-rebound page sends it, and foreign `Origin`s.
 */
describe('codec server: host, origin and bearer checks', () => {
  let proc: ChildProcess;
  let port: number;
  const logs: string[] = [];
  let secretPayload: unknown;

  before(async () => {
    [port] = (await freePorts(1)) as [number];
    proc = spawn(process.execPath, ['--import', 'tsx', 'services/codec-server/main.ts'], {
      env: {
        ...process.env,
        CODEC_PORT: String(port),
        CODEC_KEYS: keyJson,
        CODEC_AUTH_TOKEN: authToken,
        CODEC_CORS_ORIGINS: ui,
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    proc.stdout?.on('data', (b: Buffer) => logs.push(b.toString()));
    proc.stderr?.on('data', (b: Buffer) => logs.push(b.toString()));
    const deadline = Date.now() + 20_000;
    for (;;) {
      const up = await call({ method: 'GET', path: '/healthz' }).catch(() => null);
      if (up?.status === 200) break;
      if (Date.now() > deadline) throw new Error(`codec server did not start:\n${logs.join('')}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const [sealed] = await new EncryptionCodec(parseCodecKeys(keyJson)).encode([
      { metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from('"a-live-token"') },
    ]);
    secretPayload = payloadToJSON(sealed!);
  });
  after(() => {
    proc?.kill('SIGTERM');
  });

  function call(opts: {
    method?: string;
    path?: string;
    headers?: Record<string, string>;
    body?: string;
  }): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          method: opts.method ?? 'POST',
          path: opts.path ?? '/decode',
          headers: { host: `127.0.0.1:${port}`, ...opts.headers },
          timeout: 5000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: Buffer.concat(chunks).toString(),
            }),
          );
        },
      );
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', reject);
      req.end(opts.body);
    });
  }

  const decode = (headers: Record<string, string>) =>
    call({
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ payloads: [secretPayload] }),
    });
  const bearer = { authorization: `Bearer ${authToken}` };
  const refusals = async () => {
    const text = (await call({ method: 'GET', path: '/metrics' })).body;
    const count = (reason: string) =>
      Number(
        text
          .split('\n')
          .find((l) => l.startsWith('codec_requests_refused_total{') && l.includes(`reason="${reason}"`))
          ?.split(' ')
          .pop() ?? 0,
      );
    return { host: count('host'), origin: count('origin'), auth: count('auth') };
  };

  test('the right host, no origin, the bearer token: the payload comes back decrypted', async () => {
    const res = await decode(bearer);
    assert.equal(res.status, 200);
    const { payloads } = JSON.parse(res.body) as { payloads: { data: string }[] };
    assert.equal(Buffer.from(payloads[0]!.data, 'base64').toString(), '"a-live-token"');
  });

  test('each of its loopback names is served; the UI origin gets CORS', async () => {
    for (const host of [`localhost:${port}`, `[::1]:${port}`, `LOCALHOST:${port}`]) {
      assert.equal((await decode({ ...bearer, host })).status, 200, host);
    }
    const fromUi = await decode({ ...bearer, origin: ui });
    assert.equal(fromUi.status, 200);
    assert.equal(fromUi.headers['access-control-allow-origin'], ui);
  });

  test('a foreign Host (DNS rebinding) is refused 403 host_not_allowed, token or not', async () => {
    const before = await refusals();
    for (const host of ['attacker.example', `attacker.example:${port}`, `127.0.0.1:${port + 1}`]) {
      const res = await decode({ ...bearer, host });
      assert.equal(res.status, 403, host);
      assert.equal((JSON.parse(res.body) as { code: string }).code, 'host_not_allowed');
      assert.ok(!res.body.includes('a-live-token'));
    }
    assert.equal((await refusals()).host, before.host + 3);
  });

  test('a browser Origin other than the UI is refused 403 origin_not_allowed, preflight included', async () => {
    const before = await refusals();
    const res = await decode({ ...bearer, origin: 'https://attacker.example' });
    assert.equal(res.status, 403);
    assert.equal((JSON.parse(res.body) as { code: string }).code, 'origin_not_allowed');
    assert.equal(res.headers['access-control-allow-origin'], undefined);
    const preflight = await call({
      method: 'OPTIONS',
      headers: { origin: 'null', 'access-control-request-method': 'POST' },
    });
    assert.equal(preflight.status, 403);
    assert.equal(preflight.headers['access-control-allow-origin'], undefined);
    assert.equal((await refusals()).origin, before.origin + 2);
  });

  test("the UI's preflight needs no token (browsers never send one)", async () => {
    const res = await call({
      method: 'OPTIONS',
      headers: {
        origin: ui,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, content-type',
      },
    });
    assert.equal(res.status, 204);
    assert.equal(res.headers['access-control-allow-origin'], ui);
  });

  test('a missing or wrong bearer token is refused 401 unauthorized', async () => {
    const before = await refusals();
    for (const authorization of [
      undefined,
      `Bearer ${authToken}x`,
      `Bearer ${authToken.slice(0, -1)}`,
      `Basic ${authToken}`,
      authToken,
    ]) {
      const res = await decode(authorization === undefined ? {} : { authorization });
      assert.equal(res.status, 401, String(authorization));
      assert.equal((JSON.parse(res.body) as { code: string }).code, 'unauthorized');
      assert.equal(res.headers['www-authenticate'], 'Bearer');
    }
    assert.equal((await refusals()).auth, before.auth + 5);
  });

  test('POST /encode (the encryption oracle of issue 20) is off by default: 404, even with the token', async () => {
    const payload = payloadToJSON({
      metadata: { encoding: Buffer.from('json/plain') },
      data: Buffer.from('{"deploymentKey":"dk_demo_open","signals":{"clientIp":"6.6.6.6"}}'),
    });
    const res = await call({
      path: '/encode',
      headers: { 'content-type': 'application/json', ...bearer },
      body: JSON.stringify({ payloads: [payload] }),
    });
    assert.equal(res.status, 404);
    assert.deepEqual(JSON.parse(res.body), { code: 'not_found', message: 'No such route.' });
  });

  test('every refusal is logged with its reason, never with the token', async () => {
    await new Promise((r) => setTimeout(r, 200)); // let the last log lines arrive
    const lines = logs
      .join('')
      .split('\n')
      .filter((l) => l.includes('codec request refused'));
    const reasons = new Set(lines.map((l) => (JSON.parse(l) as { reason: string }).reason));
    assert.deepEqual([...reasons].sort(), ['auth', 'host', 'origin']);
    assert.ok(
      lines.some((l) => l.includes('attacker.example')),
      'the refused host is named',
    );
    assert.ok(!logs.join('').includes(authToken.slice(0, 12)), 'the token is never logged');
  });
});

describe('codec server configuration', () => {
  test('CODEC_ALLOW_ENCODE: off unless true; production with a token starts', () => {
    assert.equal(loadCodecServerConfig({}).CODEC_ALLOW_ENCODE, false);
    assert.equal(loadCodecServerConfig({ CODEC_ALLOW_ENCODE: 'true' }).CODEC_ALLOW_ENCODE, true);
    assert.equal(
      loadCodecServerConfig({ NODE_ENV: 'production', CODEC_AUTH_TOKEN: authToken }).CODEC_AUTH_TOKEN,
      authToken,
    );
  });

  test('with CODEC_ALLOW_ENCODE=true, /encode encrypts what /decode gives back', async () => {
    const codec = new EncryptionCodec(parseCodecKeys(keyJson));
    const app = createCodecServerApp({
      codec,
      corsOrigins: [ui],
      allowedHosts: ['127.0.0.1:1'],
      allowEncode: true,
      logger: createLogger('codec-test', 'silent'),
    });
    const served = await serve(app, 0);
    try {
      const post = async (path: string, payloads: unknown[]) => {
        // node:http, since fetch does not let a test choose the Host header.
        const res = await httpRequest(`${served.url}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', host: '127.0.0.1:1' },
          body: JSON.stringify({ payloads }),
        });
        assert.equal(res.status, 200, path);
        return (res.body as { payloads: unknown[] }).payloads;
      };
      const plain = payloadToJSON({
        metadata: { encoding: Buffer.from('json/plain') },
        data: Buffer.from('1'),
      });
      const sealed = await post('/encode', [plain]);
      assert.notDeepEqual(sealed, [plain]);
      assert.deepEqual(await post('/decode', sealed), [plain]);
    } finally {
      await served.close();
    }
  });
});
