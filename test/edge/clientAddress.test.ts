import assert from 'node:assert/strict';
import { once } from 'node:events';
import http, { type IncomingHttpHeaders } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { ClientAddress } from '../../lib/http/clientAddress';
import { loadEdgeConfig } from '../../edge/config';
import { startEdge } from '../../edge/start';
import type { Served } from '../../lib/http/serve';
import { createLogger } from '../../lib/logger';

describe('the client address behind trusted proxies', () => {
  const lb = new ClientAddress(['10.0.0.0/8', '192.0.2.10', '2001:db8:ffff::/48']);

  test('without a trusted peer, X-Forwarded-For is ignored: the socket address', () => {
    assert.equal(lb.resolve('198.51.100.7', '203.0.113.1'), '198.51.100.7');
    assert.equal(lb.resolve('::ffff:198.51.100.7', '203.0.113.1'), '198.51.100.7');
    assert.equal(new ClientAddress([]).resolve('10.1.2.3', '203.0.113.1'), '10.1.2.3');
  });

  test('from a trusted peer, the last hop no trusted proxy is (IPv4 CIDR and a single address)', () => {
    assert.equal(lb.resolve('10.1.2.3', '203.0.113.1'), '203.0.113.1');
    assert.equal(lb.resolve('::ffff:10.1.2.3', '203.0.113.1'), '203.0.113.1');
    // A client's own forged hops sit left of the client's real address: they are never reached.
    assert.equal(lb.resolve('10.1.2.3', '6.6.6.6, 203.0.113.1'), '203.0.113.1');
    // Trusted proxies in a chain are skipped, across several headers too.
    assert.equal(lb.resolve('10.1.2.3', '6.6.6.6, 203.0.113.1, 192.0.2.10, 10.9.9.9'), '203.0.113.1');
    assert.equal(lb.resolve('10.1.2.3', ['6.6.6.6, 203.0.113.1', '10.9.9.9']), '203.0.113.1');
    assert.equal(lb.resolve('10.1.2.3', '203.0.113.1:51234'), '203.0.113.1');
  });

  test('IPv6 CIDRs and IPv6 hops', () => {
    assert.equal(lb.resolve('2001:db8:ffff:1::5', '2001:db8:1::9'), '2001:db8:1::9');
    assert.equal(lb.resolve('2001:db8:ffff:1::5', '[2001:db8:1::9]:443, 2001:db8:ffff::1'), '2001:db8:1::9');
    assert.equal(lb.resolve('2001:db8:fffe::5', '203.0.113.1'), '2001:db8:fffe::5', 'outside the /48');
  });

  test('a hop that is not an address stops the walk at the proxy that reported it; no hop: the peer', () => {
    assert.equal(lb.resolve('10.1.2.3', 'nonsense'), '10.1.2.3');
    assert.equal(lb.resolve('10.1.2.3', '203.0.113.1, unknown, 10.9.9.9'), '10.9.9.9');
    assert.equal(lb.resolve('10.1.2.3', undefined), '10.1.2.3');
    assert.equal(lb.resolve('10.1.2.3', '10.4.4.4'), '10.4.4.4', 'every hop trusted: the first one');
  });

  test('EDGE_TRUSTED_PROXIES is checked at start', () => {
    assert.deepEqual(
      loadEdgeConfig({ EDGE_TRUSTED_PROXIES: ' 10.0.0.0/8, fd00::/8 ,::1' }).EDGE_TRUSTED_PROXIES,
      ['10.0.0.0/8', 'fd00::/8', '::1'],
    );
    for (const bad of ['10.0.0.0/33', 'fd00::/129', 'lb.internal', '10.0.0.0/8/1', '10.0.0/8']) {
      assert.throws(() => loadEdgeConfig({ EDGE_TRUSTED_PROXIES: bad }), /EDGE_TRUSTED_PROXIES/, bad);
    }
  });
});

/** What the API is told, end to end: an upstream that records the X-Forwarded-* headers it receives. */
describe('X-Forwarded-For through the edge', () => {
  const received: IncomingHttpHeaders[] = [];
  const upstream = http.createServer((req, res) => {
    if (req.url !== '/readyz') received.push(req.headers);
    res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
  });
  const edges: Served[] = [];
  const logger = createLogger('edge-test', 'silent');
  let apiUrl = '';

  before(async () => {
    upstream.listen(0, '127.0.0.1');
    await once(upstream, 'listening');
    apiUrl = `http://127.0.0.1:${(upstream.address() as { port: number }).port}`;
  });
  after(async () => {
    for (const edge of edges) await edge.close();
    upstream.closeAllConnections();
    await new Promise((resolve) => upstream.close(resolve));
  });

  const edgeOn = async (host: string, trusted: string) => {
    const edge = await startEdge(
      loadEdgeConfig({ HOST: host, EDGE_PORT: '0', API_URL: apiUrl, EDGE_TRUSTED_PROXIES: trusted }),
      logger,
    );
    edges.push(edge);
    return edge;
  };

  const forwardedFor = async (edge: Served, headers: Record<string, string>) => {
    const res = await fetch(`${edge.url}/v2/Webchat/Token`, { method: 'POST', headers, body: '{}' });
    await res.body?.cancel();
    assert.equal(res.status, 200);
    const last = received.at(-1) ?? {};
    return { for: last['x-forwarded-for'], proto: last['x-forwarded-proto'] };
  };

  test('no trusted proxies (the default): the socket address, whatever the client claims', async () => {
    const edge = await edgeOn('127.0.0.1', '');
    assert.deepEqual(
      await forwardedFor(edge, { 'X-Forwarded-For': '203.0.113.1', 'X-Forwarded-Proto': 'https' }),
      {
        for: '127.0.0.1',
        proto: 'http',
      },
    );
  });

  test('behind a trusted IPv4 balancer: the last untrusted hop, and the balancer’s scheme', async () => {
    const edge = await edgeOn('127.0.0.1', '127.0.0.0/8');
    assert.deepEqual(
      await forwardedFor(edge, { 'X-Forwarded-For': '6.6.6.6, 203.0.113.1', 'X-Forwarded-Proto': 'https' }),
      { for: '203.0.113.1', proto: 'https' },
    );
    assert.deepEqual(await forwardedFor(edge, {}), { for: '127.0.0.1', proto: 'http' });
  });

  test('a trusted list that does not hold the peer changes nothing', async () => {
    const edge = await edgeOn('127.0.0.1', '10.0.0.0/8, fd00::/8');
    assert.equal((await forwardedFor(edge, { 'X-Forwarded-For': '203.0.113.1' })).for, '127.0.0.1');
  });

  test('behind a trusted IPv6 balancer: the IPv6 client', async () => {
    const edge = await edgeOn('::1', '::1/128');
    assert.equal((await forwardedFor(edge, { 'X-Forwarded-For': '2001:db8:1::9' })).for, '2001:db8:1::9');
    const untrusted = await edgeOn('::1', '127.0.0.0/8');
    assert.equal((await forwardedFor(untrusted, { 'X-Forwarded-For': '2001:db8:1::9' })).for, '::1');
  });
});
