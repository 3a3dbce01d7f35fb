import assert from 'node:assert/strict';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createLogger } from '../../lib/logger';
import { serve, type Served } from '../../lib/http/serve';
import { createWebHandler, fileFor } from '../../web/server';

const publicDir = resolve(__dirname, '..', '..', 'web', 'public');

describe('the demo page server', () => {
  const handler = createWebHandler({
    publicDir,
    edgeUrl: 'http://127.0.0.1:18080',
    logger: createLogger('web', 'silent'),
  });
  let served: Served;
  let port: number;

  before(async () => {
    served = await serve(handler, 0);
    port = (served.server.address() as AddressInfo).port;
  });
  after(() => served.close());

  /** A raw GET, so that `..` and encoded segments reach the server as written (fetch would normalize them). */
  const get = (path: string, method = 'GET') =>
    new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }>(
      (res, rej) => {
        const req = request({ host: '127.0.0.1', port, path, method }, (r) => {
          let body = '';
          r.setEncoding('utf8');
          r.on('data', (c: string) => (body += c));
          r.on('end', () => res({ status: r.statusCode ?? 0, headers: r.headers, body }));
        });
        req.on('error', rej);
        req.end();
      },
    );

  test('/ is the page, as HTML, never cached, with a CSP that lets it reach only the edge', async () => {
    const res = await get('/');
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'text/html; charset=utf-8');
    assert.equal(res.headers['cache-control'], 'no-store');
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
    assert.match(String(res.headers['content-security-policy']), /connect-src http:\/\/127\.0\.0\.1:18080;/);
    assert.match(res.body, /<html lang="en">/);
    assert.match(res.body, /<label for="deployment-key">/);
  });

  test('/config.js hands the page the edge URL as a module', async () => {
    const res = await get('/config.js');
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'text/javascript; charset=utf-8');
    assert.equal(res.body, 'export const edgeUrl = "http://127.0.0.1:18080";\n');
  });

  test('scripts and styles get their content types', async () => {
    assert.equal((await get('/widget.js')).headers['content-type'], 'text/javascript; charset=utf-8');
    assert.equal((await get('/styles.css')).headers['content-type'], 'text/css; charset=utf-8');
  });

  for (const path of [
    '/../server.ts',
    '/..%2fserver.ts',
    '/%2e%2e/server.ts',
    '/%2e%2e%2f%2e%2e%2fpackage.json',
    '/..%5cserver.ts',
    '/.hidden',
    '/index.html%00.js',
    '/missing.html',
  ]) {
    test(`${path}: 404 or 400, and nothing outside the folder`, async () => {
      const res = await get(path);
      assert.ok(res.status === 404 || res.status === 400, `status ${res.status}`);
      assert.equal(res.headers['content-type'], 'text/plain; charset=utf-8');
      assert.doesNotMatch(res.body, /import|createWebHandler|"name"/);
    });
  }

  test('only GET and HEAD', async () => {
    const post = await get('/', 'POST');
    assert.equal(post.status, 405);
    assert.equal(post.headers.allow, 'GET, HEAD');
    const head = await get('/', 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
  });

  test('fileFor keeps every path inside the folder', () => {
    assert.equal(fileFor(publicDir, '/widget.js'), join(publicDir, 'widget.js'));
    assert.equal(fileFor(publicDir, '/a/../../server.ts'), undefined);
    assert.equal(fileFor(publicDir, '/'), undefined);
  });
});
