import assert from 'node:assert/strict';
import { createServer, type Server as NetServer } from 'node:net';
import { after, afterEach, describe, test } from 'node:test';
import { createApp } from '../../api/app';
import type { TokenRuns } from '../../api/tokenRuns';
import { loadEdgeConfig } from '../../edge/config';
import { startEdge } from '../../edge/start';
import { serve, type Served } from '../../lib/http/serve';
import { createLogger } from '../../lib/logger';
import { freePorts } from '../../scripts/stack';
import { noRefresh } from '../helpers/tokenRuns';

const healthIntervalMs = 100;
const silent = createLogger('edge-test', 'silent');

/**
 * One API instance: the real app (its /readyz, its drain on close) on a fixed port, so it can be stopped and
 * started again where the edge expects it; a stand-in issuer that counts what it served and takes `workMs`.
 */
class Api {
  served: Served | undefined;
  issued = 0;
  shuttingDown = false;
  private readonly runs: TokenRuns;

  constructor(
    readonly port: number,
    workMs = 5,
  ) {
    this.runs = {
      runRefresh: noRefresh.runRefresh,
      runCreate: async () => {
        await new Promise((resolve) => setTimeout(resolve, workMs));
        this.issued++;
        return {
          outcome: 'issued',
          accountSid: 'AC' + '0'.repeat(32),
          token: `tok-${port}`,
          identity: 'id',
          expiration: '2030-01-01T00:00:00.000Z',
          cors: { allowOrigin: '*', vary: false },
        };
      },
      ready: () => Promise.resolve(true),
    };
  }

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.shuttingDown = false;
    const app = createApp({
      runs: this.runs,
      logger: silent,
      deadlineMs: 2000,
      shuttingDown: () => this.shuttingDown,
    });
    this.served = await serve(app, this.port, '127.0.0.1', { drainTimeoutMs: 2000 });
  }

  /** What SIGTERM does to the API (api/main.ts): /readyz says 503, a delay, then the drain. */
  async stop(delayMs = 0): Promise<void> {
    this.shuttingDown = true;
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    await this.served?.close();
    this.served = undefined;
  }
}

const startApis = async (count: number, workMs?: number) => {
  const apis = (await freePorts(count)).map((port) => new Api(port, workMs));
  await Promise.all(apis.map((api) => api.start()));
  return apis;
};

const edgeFor = (urls: string[], logger = silent) =>
  startEdge(
    loadEdgeConfig({
      EDGE_PORT: '0',
      API_URL: urls.join(','),
      EDGE_PROXY_TIMEOUT_MS: '2000',
      EDGE_HEALTH_INTERVAL_MS: String(healthIntervalMs),
    }),
    logger,
  );

const token = (edge: Served, headers: Record<string, string> = {}) =>
  fetch(`${edge.url}/v2/Webchat/Token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ deploymentKey: 'dk_demo_open' }),
    signal: AbortSignal.timeout(5000),
  });

/** Sends `count` token requests one after another; returns their statuses. */
async function tokens(edge: Served, count: number): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < count; i++) {
    const res = await token(edge);
    statuses.push(res.status);
    await res.body?.cancel();
  }
  return statuses;
}

const allOk = (count: number) => Array.from({ length: count }, () => 200);
const settle = (ms = healthIntervalMs * 3) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the edge in front of several APIs', () => {
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
  });

  const setUp = async (count = 2, workMs?: number) => {
    const apis = await startApis(count, workMs);
    closers.push(async () => {
      for (const api of apis) await api.stop();
    });
    const edge = await edgeFor(apis.map((api) => api.url));
    closers.push(() => edge.close());
    return { apis, edge };
  };

  test('spreads requests over both APIs, round-robin', async () => {
    const { apis, edge } = await setUp();
    assert.deepEqual(await tokens(edge, 10), allOk(10));
    assert.deepEqual(
      apis.map((api) => api.issued),
      [5, 5],
    );
  });

  test('an API that refuses connections loses no request, is skipped, and gets requests again once it is back', async () => {
    const { apis, edge } = await setUp();
    const [a, b] = apis as [Api, Api];
    await b.stop();
    // The first request that finds b refused is retried on a at once; after that b is out of the rotation.
    assert.deepEqual(await tokens(edge, 10), allOk(10));
    assert.equal(a.issued, 10);
    await b.start();
    await settle();
    assert.deepEqual(await tokens(edge, 10), allOk(10));
    assert.equal(b.issued, 5, 'b is back in the rotation');
  });

  test('an API whose /readyz fails is taken out (without a request failing) and returned when it passes', async () => {
    const { apis, edge } = await setUp();
    const [a, b] = apis as [Api, Api];
    b.shuttingDown = true; // /readyz 503, but it still serves: the edge must stop sending on /readyz alone
    await settle();
    assert.deepEqual(await tokens(edge, 8), allOk(8));
    assert.deepEqual([a.issued, b.issued], [8, 0]);
    b.shuttingDown = false;
    await settle();
    assert.deepEqual(await tokens(edge, 8), allOk(8));
    assert.deepEqual([a.issued, b.issued], [12, 4]);
  });

  test('with every API down: 503 JSON with Retry-After, then 200 once one is back', async () => {
    const { apis, edge } = await setUp();
    for (const api of apis) await api.stop();
    const res = await token(edge);
    assert.equal(res.status, 503);
    assert.equal(res.headers.get('retry-after'), '1');
    assert.deepEqual(await res.json(), {
      code: 'unavailable',
      message: 'The service is unavailable, try again.',
    });
    await apis[0]!.start();
    // Even before the next health check: with none healthy, the edge still tries them all.
    assert.deepEqual(await tokens(edge, 2), allOk(2));
  });

  test('restarting the APIs one at a time, under load, loses no request', async () => {
    const { apis, edge } = await setUp(2, 20);
    const statuses: number[] = [];
    let running = true;
    // Four clients sending back to back for the whole restart.
    const load = Array.from({ length: 4 }, async () => {
      while (running) {
        const res = await token(edge);
        statuses.push(res.status);
        await res.body?.cancel();
      }
    });
    for (const api of apis) {
      await settle(healthIntervalMs * 2);
      // SHUTDOWN_DELAY_MS of 3 health intervals: the edge stops sending before the API stops accepting.
      await api.stop(healthIntervalMs * 3);
      await settle(healthIntervalMs * 2);
      await api.start();
    }
    await settle(healthIntervalMs * 3);
    running = false;
    await Promise.all(load);
    assert.ok(statuses.length > 40, `${statuses.length} requests`);
    assert.deepEqual(
      statuses.filter((s) => s !== 200),
      [],
      `${statuses.length} requests`,
    );
    assert.ok(apis.every((api) => api.issued > 0));
  });
});

describe('a request that may have reached an API', () => {
  const servers: NetServer[] = [];
  const closers: (() => Promise<void>)[] = [];
  after(async () => {
    for (const close of closers.reverse()) await close();
    for (const server of servers) await new Promise((resolve) => server.close(resolve));
  });

  test('a POST is not sent to a second API after the first took it and failed; with an Idempotency-Key it is', async () => {
    // An "API" that accepts the connection, reads the request and hangs up without answering; /readyz aside.
    const [dropPort] = await freePorts(1);
    let dropped = 0;
    const drop = createServer((socket) => {
      socket.once('data', (data) => {
        if (data.toString('latin1').startsWith('GET /readyz')) {
          socket.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}');
        } else {
          dropped++;
          socket.destroy();
        }
      });
    }).listen(dropPort, '127.0.0.1');
    servers.push(drop);
    const [good] = await startApis(1);
    closers.push(() => good!.stop());
    const edge = await edgeFor([`http://127.0.0.1:${dropPort}`, good!.url]);
    closers.push(() => edge.close());

    // Round-robin starts at the dropping one: the POST reached it, so it is not retried.
    const first = await token(edge);
    assert.equal(first.status, 503);
    await first.body?.cancel();
    assert.deepEqual([dropped, good!.issued], [1, 0]);
    const second = await token(edge); // the good one's turn
    assert.equal(second.status, 200);
    await second.body?.cancel();
    // The API replays a request with an Idempotency-Key instead of running it twice: safe to send again.
    const third = await token(edge, { 'Idempotency-Key': 'idem-0001-abcdef' });
    assert.equal(third.status, 200);
    await third.body?.cancel();
    assert.deepEqual([dropped, good!.issued], [2, 2]);
  });
});
