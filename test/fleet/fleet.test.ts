import assert from 'node:assert/strict';
import { type ChildProcess, execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { Redis } from 'ioredis';
import { decodeProtectedHeader } from 'jose';
import { collectSignals, generateFingerprint } from '../../lib/fingerprint';
import { createServiceCredentials, requestTarget } from '../../lib/serviceAuth';
import { startLoad, type RequestRecord } from '../../scripts/faults/load';
import {
  freePorts,
  serviceArgs,
  type ServiceName,
  spawnLogged,
  terminate,
  waitForHttp,
  waitForTemporal,
} from '../../scripts/stack';
import { postAsService } from '../../scripts/stack/serviceAuthorization';
import { createTestSchema, postgresUnavailable, type TestSchema } from '../helpers/testDatabase';
import { dpopKey } from '../helpers/dpop';
import { otherBrowserHeaders, widgetHeaders } from '../helpers/widget';

/**
 * The multi-instance deployment of the "Run a fleet" in docs/fleet.md, as separate processes started with the
 * `npm run start:*` entry points: one Temporal dev server, two SAS on one key folder made by `npm run
 * rotate-keys`, FAS, two APIs that each run a worker (the default layout: every run starts eagerly on the API that
 * took the request) on the local PostgreSQL (a schema of this file's own), counting their rate limits in Redis
 * (a key prefix of this file's own), and one edge in front of both APIs that trusts this
 * test as its load balancer. Every process runs with NODE_ENV=production, a data folder of its own, and its
 * secrets only from the environment. Sized for 2 shared cores: a few requests per second, no timing assertions.
 */

const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
/** The per-client-network limit of both APIs together. */
const IP_LIMIT = 5;
const SECURE_ORIGIN = 'http://localhost:8081';
const RELOAD_MS = 300;
/** Every process's output, one file per run, kept for a failure's post-mortem (git-ignored). */
const logDir = join(__dirname, '..', '..', 'test-results', 'fleet');

const secret = () => randomBytes(32).toString('base64url');
const secrets = {
  CODEC_KEYS: JSON.stringify({ current: 'fleet-1', keys: { 'fleet-1': secret() } }),
  FINGERPRINT_SECRET: secret(),
  FAS_AUTH_SECRET: secret(),
  SAS_AUTH_SECRET: secret(),
};

interface Service {
  name: string;
  env: NodeJS.ProcessEnv;
  child: ChildProcess;
  args: string[];
  ready: () => Promise<void>;
}

/**
 * A client address for the edge's X-Forwarded-For; each call a new one on a /24 of its own (198.18.0.0/15, for
 * benchmarks), so the load of these tests is many visitors, never one network spending a key's budget.
 */
let clientCounter = 0;
const nextClient = () => {
  clientCounter++;
  return `198.${18 + (Math.floor(clientCounter / 256) % 2)}.${clientCounter % 256}.1`;
};
/** The per-key total of both APIs: a tenth of it (20) per network, past it a hundredth (2). */
const KEY_TOTAL = 200;

void describe(
  'a fleet: two SAS, FAS, two APIs with their workers and an edge, on PostgreSQL and Redis',
  {
    skip: postgresUnavailable() ?? undefined,
  },
  () => {
    let dir: string;
    let keysDir: string;
    let schema: TestSchema;
    let redis: Redis;
    const keyPrefix = `webchat-fleet-test-${randomBytes(4).toString('hex')}:`;
    const services = new Map<string, Service>();
    const logs: string[] = [];
    let temporalAddress: string;
    let client: Client;
    let connection: Connection;
    const urls: Record<string, string> = {};

    const output = (name: string, line: string) => logs.push(`[${name}] ${line}`);

    /**
     * Starts `entry` as `npm run start:<entry>` does (scripts/stack/serviceArgs.ts, from the TypeScript
     * sources: no build has to precede the test) as `name` with exactly `env` (plus PATH), and remembers how to
     * restart it.
     */
    const launch = (
      name: string,
      entry: ServiceName,
      env: NodeJS.ProcessEnv,
      ready: (s: Service) => Promise<void>,
    ) => {
      const args = serviceArgs(entry, 'tsx');
      const fullEnv: NodeJS.ProcessEnv = {
        PATH: process.env.PATH,
        ...(process.env.TEMPORAL_CLI_PATH && { TEMPORAL_CLI_PATH: process.env.TEMPORAL_CLI_PATH }),
        NODE_ENV: 'production',
        LOG_LEVEL: 'info',
        HOST: '127.0.0.1',
        DATA_DIR: join(dir, name),
        ...env,
      };
      const service: Service = {
        name,
        env: fullEnv,
        args,
        child: spawnLogged(name, process.execPath, args, fullEnv, output),
        ready: () => ready(service),
      };
      services.set(name, service);
      return service;
    };
    const httpReady = (path: string) => (s: Service) =>
      waitForHttp(`http://127.0.0.1:${s.env[portVariable(s.name)]}${path}`, s.child, 90_000);

    const rotateKeys = async () =>
      (
        await promisify(execFile)(process.execPath, serviceArgs('rotate-keys', 'tsx'), {
          cwd: join(__dirname, '..', '..'),
          env: {
            PATH: process.env.PATH,
            NODE_ENV: 'production',
            SAS_KEYS_DIR: keysDir,
            DATA_DIR: join(dir, 'cli'),
          },
        })
      ).stdout;

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'webchat-fleet-'));
      keysDir = join(dir, 'shared-keys');
      schema = await createTestSchema('fleet');
      redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
      await redis.connect();
      // A new deployment's SAS key ring is made once, outside every SAS, which only read it.
      assert.match(await rotateKeys(), /Created a key ring in /);

      const [temporal, ui, codec, sas1, sas2, fas, api1, api2, edge] = await freePorts(9);
      temporalAddress = `127.0.0.1:${temporal}`;
      urls.sas1 = `http://127.0.0.1:${sas1}`;
      urls.sas2 = `http://127.0.0.1:${sas2}`;
      urls.api1 = `http://127.0.0.1:${api1}`;
      urls.api2 = `http://127.0.0.1:${api2}`;
      urls.edge = `http://127.0.0.1:${edge}`;

      launch(
        'temporal',
        'temporal',
        { TEMPORAL_ADDRESS: temporalAddress, TEMPORAL_UI_PORT: String(ui), CODEC_PORT: String(codec) },
        () => waitForTemporal(temporalAddress, 90_000),
      );
      for (const [name, port] of [
        ['sas-1', sas1],
        ['sas-2', sas2],
      ] as const) {
        launch(
          name,
          'sas',
          {
            SAS_PORT: String(port),
            SAS_KEYS_DIR: keysDir,
            SAS_KEYS_RELOAD_MS: String(RELOAD_MS),
            SAS_AUTH_SECRET: secrets.SAS_AUTH_SECRET,
            // Refresh rotation and revocation are state every SAS of a deployment must share.
            DATABASE_URL: schema.url,
            // So is the replay cache of FAS's credentials: one accepted at one SAS is spent at all.
            REDIS_URL: redisUrl,
            REPLAY_KEY_PREFIX: keyPrefix,
          },
          httpReady('/healthz'),
        );
      }
      launch(
        'fas',
        'fas',
        {
          FAS_PORT: String(fas),
          SAS_URL: urls.sas1,
          FAS_AUTH_SECRET: secrets.FAS_AUTH_SECRET,
          SAS_AUTH_SECRET: secrets.SAS_AUTH_SECRET,
          REDIS_URL: redisUrl,
          REPLAY_KEY_PREFIX: keyPrefix,
        },
        httpReady('/healthz'),
      );
      const apiEnv = (port: number | undefined) => ({
        API_PORT: String(port),
        TEMPORAL_ADDRESS: temporalAddress,
        CODEC_KEYS: secrets.CODEC_KEYS,
        // The API's worker: the store, FAS and the secrets every worker shares.
        FAS_URL: `http://127.0.0.1:${fas}`,
        DATABASE_URL: schema.url,
        FINGERPRINT_SECRET: secrets.FINGERPRINT_SECRET,
        FAS_AUTH_SECRET: secrets.FAS_AUTH_SECRET,
        WORKER_METRICS_ADDRESS: '',
        // DPoP proofs name the public URL the browser called: the edge.
        EDGE_PUBLIC_URL: `http://127.0.0.1:${edge}`,
        REDIS_URL: redisUrl,
        REDIS_KEY_PREFIX: keyPrefix,
        RATE_LIMIT_IP_POINTS: String(IP_LIMIT),
        RATE_LIMIT_IP_WINDOW_S: '300',
        RATE_LIMIT_KEY_TOTAL_POINTS: String(KEY_TOTAL),
        RATE_LIMIT_KEY_WINDOW_S: '300',
        // Two health intervals of the edge: on SIGTERM the edge stops sending before the API stops accepting.
        SHUTDOWN_DELAY_MS: '1000',
        // Nine processes share two cores with whatever else runs: a slow machine gets a 200 late, not a 503.
        TOKEN_DEADLINE_MS: '40000',
      });
      launch(
        'edge',
        'edge',
        {
          EDGE_PORT: String(edge),
          API_URL: `${urls.api1},${urls.api2}`,
          EDGE_HEALTH_INTERVAL_MS: '250',
          EDGE_PROXY_TIMEOUT_MS: '50000',
          // This test is the load balancer in front of the edge.
          EDGE_TRUSTED_PROXIES: '127.0.0.1/32',
        },
        httpReady('/healthz'),
      );
      try {
        await Promise.all([...services.values()].map((s) => s.ready()));
        // The first API's worker seeds the demo accounts (production does not, unless asked); the second starts
        // on a store that is already migrated and seeded. The edge brings each in once its /readyz answers.
        launch('api-1', 'api', { ...apiEnv(api1), SEED_DEMO_ACCOUNTS: 'true' }, httpReady('/readyz'));
        await services.get('api-1')!.ready();
        launch('api-2', 'api', apiEnv(api2), httpReady('/readyz'));
        await services.get('api-2')!.ready();
      } catch (err) {
        console.error(logs.slice(-60).join('\n'));
        throw err;
      }
      connection = await Connection.connect({ address: temporalAddress });
      client = new Client({ connection });
    });

    after(async () => {
      await mkdir(logDir, { recursive: true });
      await writeFile(join(logDir, 'fleet.log'), `${logs.join('\n')}\n`);
      // Last started first: the APIs and the edge before what they call.
      for (const s of [...services.values()].reverse()) await terminate(s.child);
      await connection?.close();
      if (redis) {
        const keys = await redis.keys(`${keyPrefix}*`);
        if (keys.length > 0) await redis.del(...keys);
        await redis.quit();
      }
      await schema?.drop();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    const asFas = createServiceCredentials({
      issuer: 'federated-auth',
      audience: 'scoped-auth',
      secret: Buffer.from(secrets.SAS_AUTH_SECRET, 'base64url'),
    });

    /** SAS's verdict on a token, asked as FAS asks it; with `browser`, for that browser's fingerprint. */
    const validateAt = async (sas: string, token: string, browser?: Record<string, string>) => {
      const body: Record<string, string> = { token };
      if (browser) {
        const signals = collectSignals(browser, '127.0.0.1');
        body.fingerprint = generateFingerprint(
          signals,
          'medium',
          Buffer.from(secrets.FINGERPRINT_SECRET, 'base64url'),
        ).fingerprint;
      }
      const res = await postAsService(asFas, `${sas}/v1/ScopedAuthTokens/validate`, body);
      assert.equal(res.status, 200);
      return (await res.json()) as { authorized: boolean; identity?: string; message?: string };
    };

    const issueOpen = (clientIp: string) =>
      fetch(`${urls.edge}/v2/Webchat/Token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-forwarded-for': clientIp },
        body: JSON.stringify({ deploymentKey: 'dk_demo_open' }),
      });

    const secureForm = (fields: Record<string, string>, clientIp: string, browser = widgetHeaders()) => ({
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        origin: SECURE_ORIGIN,
        'x-forwarded-for': clientIp,
        ...browser,
      },
      body: new URLSearchParams(fields).toString(),
    });

    /**
     * The identity (`<pid>@<host>`) of the worker that completed the workflow tasks of the run a request started.
     * Workflow ids are random; the request's `X-Request-Id` is the run's `WebchatRequestId` search attribute
     * (visibility may lag the answer by a moment).
     */
    const workerOfRun = async (requestId: string | null): Promise<string[]> => {
      let workflowId: string | undefined;
      for (let attempt = 0; workflowId === undefined; attempt++) {
        for await (const run of client.workflow.list({ query: `WebchatRequestId="${requestId}"` })) {
          workflowId = run.workflowId;
        }
        if (workflowId === undefined) {
          if (attempt >= 50) throw new Error(`no run has WebchatRequestId ${requestId}`);
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      }
      const history = await client.workflow.getHandle(workflowId).fetchHistory();
      return (history.events ?? []).flatMap((e) => e.workflowTaskCompletedEventAttributes?.identity ?? []);
    };
    const pidOf = (identity: string) => Number(identity.split('@')[0]);
    /** Each API runs a worker: the pids whose identities complete workflow tasks. */
    const workerPids = () => [services.get('api-1')!.child.pid, services.get('api-2')!.child.pid];

    /** Sums the samples of a Prometheus metric whose labels include every pair of `labels`. */
    const metric = async (url: string, name: string, labels: Record<string, string>) => {
      const text = await (await fetch(`${url}/metrics`)).text();
      return text
        .split('\n')
        .filter((line) => line.startsWith(`${name}{`))
        .filter((line) => Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`)))
        .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);
    };
    const issuedBy = (api: string) =>
      metric(api, 'webchat_token_requests_total', { kind: 'create', outcome: 'issued' });

    /** Bound tokens with the worker pid that issued them, for the refresh after that worker is killed. */
    const bound: { token: string; identity: string; clientIp: string; pid: number }[] = [];

    void test('tokens issue through the edge; both APIs, each with its worker, serve some of them', async () => {
      const before = { api1: await issuedBy(urls.api1!), api2: await issuedBy(urls.api2!) };
      const seen = new Set<number>();
      let issued = 0;
      // Each run starts eagerly on the API the edge chose: ask until both have served (or a cap says one never does).
      for (let round = 0; round < 15 && seen.size < 2; round++) {
        const answers = await Promise.all(
          [0, 1, 2].map(async () => {
            const res = await issueOpen(nextClient());
            assert.equal(res.status, 200, await res.clone().text());
            const body = (await res.json()) as { token: string; identity: string };
            assert.equal((await validateAt(urls.sas2!, body.token)).identity, body.identity);
            return res.headers.get('x-request-id')!;
          }),
        );
        issued += answers.length;
        for (const requestId of answers) {
          for (const identity of await workerOfRun(requestId)) seen.add(pidOf(identity));
        }
      }
      assert.deepEqual([...seen].sort(), [...workerPids()].sort(), 'both workers completed runs');
      const after = { api1: await issuedBy(urls.api1!), api2: await issuedBy(urls.api2!) };
      assert.ok(after.api1 > before.api1, 'api-1 served some');
      assert.ok(after.api2 > before.api2, 'api-2 served some');
      assert.equal(after.api1 - before.api1 + (after.api2 - before.api2), issued);

      // Bound tokens (dk_demo_secure with the widget's headers), each with the worker that issued it.
      for (let i = 0; i < 4; i++) {
        const clientIp = nextClient();
        const res = await fetch(
          `${urls.edge}/v2/Webchat/Token`,
          secureForm({ DeploymentKey: 'dk_demo_secure' }, clientIp),
        );
        assert.equal(res.status, 200, await res.clone().text());
        assert.equal(res.headers.get('access-control-allow-origin'), SECURE_ORIGIN);
        const body = (await res.json()) as { token: string; identity: string };
        const [identity] = await workerOfRun(res.headers.get('x-request-id'));
        bound.push({ ...body, clientIp, pid: pidOf(identity!) });
      }
    });

    void test(`a per-IP limit of ${IP_LIMIT} over both APIs: exactly ${IP_LIMIT} successes, then 429 with Retry-After; another X-Forwarded-For has its own bucket`, async () => {
      const answered = async () =>
        Promise.all(
          [urls.api1!, urls.api2!].map(async (api) => {
            const counts = await Promise.all(
              ['200', '429'].map((status) => metric(api, 'http_requests_total', { method: 'POST', status })),
            );
            return counts[0]! + counts[1]!;
          }),
        );
      const before = await answered();
      const limited = '203.0.113.10';
      const statuses: number[] = [];
      for (let i = 0; i < 2 * IP_LIMIT; i++) {
        const res = await issueOpen(limited);
        statuses.push(res.status);
        if (res.status === 429) {
          assert.match(res.headers.get('retry-after') ?? '', /^[1-9]\d*$/);
          assert.equal(((await res.json()) as { code: string }).code, 'rate_limited');
        } else {
          await res.body?.cancel();
        }
      }
      assert.deepEqual(statuses, [
        ...Array<number>(IP_LIMIT).fill(200),
        ...Array<number>(IP_LIMIT).fill(429),
      ]);
      const afterCounts = await answered();
      assert.ok(afterCounts[0]! > before[0]! && afterCounts[1]! > before[1]!, 'both APIs answered some');
      // Counted in Redis under this fleet's prefix, never in an instance's memory as a fallback.
      assert.ok((await redis.keys(`${keyPrefix}*`)).length > 0, 'the limits live in Redis');
      for (const api of [urls.api1!, urls.api2!]) {
        assert.equal(await metric(api, 'rate_limit_store_errors_total', {}), 0, `${api} never fell back`);
      }

      // Behind the trusted balancer, another client network is another bucket; the limited one stays limited.
      const other = await issueOpen('203.0.113.11');
      assert.equal(other.status, 200);
      await other.body?.cancel();
      const again = await issueOpen(limited);
      assert.equal(again.status, 429);
      await again.body?.cancel();
    });

    void test(`a flood from one IPv6 /48 over both APIs spends a tenth of a key's total (${KEY_TOTAL / 10}), then 429; a visitor on another network is served`, async () => {
      const key = `dk_flood_${randomBytes(4).toString('hex')}`;
      const send = async (clientIp: string) => {
        const res = await fetch(`${urls.edge}/v2/Webchat/Token`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-forwarded-for': clientIp },
          body: JSON.stringify({ deploymentKey: key }),
        });
        await res.body?.cancel();
        return res.status;
      };
      // An unknown key is refused (403) by its run; a limited request never starts one (429).
      const statuses: number[] = [];
      for (let i = 0; i < KEY_TOTAL / 10 + 5; i++)
        statuses.push(await send(`2001:db8:f1:${i.toString(16)}::1`));
      assert.deepEqual(statuses, [...Array<number>(KEY_TOTAL / 10).fill(403), ...Array<number>(5).fill(429)]);
      assert.equal(await send('2001:db8:f2::1'), 403, 'another /48');
      assert.equal(await send('203.0.113.200'), 403, 'an IPv4 visitor');
    });

    void test('a token minted after rotate-keys validates at both SAS instances', async () => {
      const old = (await (await issueOpen(nextClient())).json()) as { token: string; identity: string };
      assert.match(await rotateKeys(), /Rotated the keys in /);
      const ring = JSON.parse(await readFile(join(keysDir, 'keyring.json'), 'utf8')) as {
        signing: { kid: string }[];
        encryption: { kid: string }[];
      };
      const current = { signing: ring.signing[0]!.kid, encryption: ring.encryption[0]!.kid };
      // Each SAS reloads the folder on its own within SAS_KEYS_RELOAD_MS.
      for (const sas of [urls.sas1!, urls.sas2!]) {
        for (let tries = 0; ; tries++) {
          const jwks = (await (await fetch(`${sas}/.well-known/jwks.json`)).json()) as {
            keys: { kid: string }[];
          };
          if (jwks.keys[0]?.kid === current.signing) break;
          assert.ok(tries < 100, `${sas} never served the rotated ring`);
          await new Promise((r) => setTimeout(r, RELOAD_MS));
        }
      }
      const res = await issueOpen(nextClient());
      assert.equal(res.status, 200);
      const fresh = (await res.json()) as { token: string; identity: string };
      assert.equal(decodeProtectedHeader(fresh.token).kid, current.encryption, 'minted with the new key');
      for (const sas of [urls.sas1!, urls.sas2!]) {
        assert.equal((await validateAt(sas, fresh.token)).identity, fresh.identity);
        assert.equal((await validateAt(sas, old.token)).identity, old.identity, 'older tokens stay valid');
      }
    });

    void test('a FAS credential captured at one SAS: refused at the other, as is or with another body (one Redis for both)', async () => {
      const url = (sas: string) => `${sas}/v1/ScopedAuthTokens/generate/internal`;
      const body = JSON.stringify({
        accountSid: 'AC' + '1'.repeat(32),
        grants: { webchat: { addressSid: 'IS' + '0'.repeat(32) } },
        ttl: 600,
        encrypt: true,
      });
      const captured = await (
        await asFas
      ).authorization({ method: 'POST', path: requestTarget(url(urls.sas1!)), body });
      const send = (sas: string, text: string) =>
        fetch(url(sas), {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: captured },
          body: text,
        });
      const longer = body.replace('"ttl":600', '"ttl":86400');
      assert.equal((await send(urls.sas2!, longer)).status, 401, 'another body');
      assert.equal((await send(urls.sas1!, body)).status, 200, 'the request it was made for');
      for (const sas of [urls.sas1!, urls.sas2!]) {
        const replayed = await send(sas, body);
        assert.equal(replayed.status, 401, `replayed at ${sas}`);
        assert.deepEqual(await replayed.json(), {
          code: 'unauthorized',
          message: 'A valid service credential is required.',
        });
      }
    });

    void test('a DPoP proof is accepted once in the fleet: replayed to the other API or the other SAS, refused', async () => {
      const key = await dpopKey();
      const tokenUrl = `${urls.edge}/v2/Webchat/Token`;
      // The proof names the public URL (the edge); the test sends it straight to each API, as a thief that
      // caught it would.
      const send = (api: string, proof: string) =>
        fetch(`${api}/v2/Webchat/Token`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-forwarded-for': nextClient(), dpop: proof },
          body: JSON.stringify({ deploymentKey: 'dk_demo_dpop' }),
        });
      const proof = await key.proof({ htu: tokenUrl });
      const first = await send(urls.api1!, proof);
      assert.equal(first.status, 200, await first.clone().text());
      const { token } = (await first.json()) as { token: string };
      const replayed = await send(urls.api2!, proof);
      assert.equal(replayed.status, 400);
      assert.equal(((await replayed.json()) as { code: string }).code, 'dpop_proof_required');

      const api = 'https://chat.example.com/messages';
      const atSas = async (sas: string, dpop: { proof: string; method: string; url: string }) => {
        const res = await postAsService(asFas, `${sas}/v1/ScopedAuthTokens/validate`, { token, dpop });
        return (await res.json()) as { authorized: boolean; message?: string };
      };
      const shown = { proof: await key.proof({ htu: api, token }), method: 'POST', url: api };
      assert.equal((await atSas(urls.sas2!, shown)).authorized, true);
      assert.deepEqual(await atSas(urls.sas1!, shown), { authorized: false, message: 'invalid_dpop_proof' });
    });

    const load = (requestsPerSecond: number) =>
      startLoad({
        url: `${urls.edge}/v2/Webchat/Token`,
        requestsPerSecond,
        deadlineMs: 120_000,
        attemptBudgetMs: 55_000,
        body: JSON.stringify({ deploymentKey: 'dk_demo_open' }),
        headers: () => ({ 'content-type': 'application/json', 'x-forwarded-for': nextClient() }),
        validate: async (token) => (await validateAt(urls.sas2!, token)).authorized,
      });
    const tally = (records: RequestRecord[]) =>
      Object.entries(
        records.reduce<Record<string, number>>((counts, r) => {
          const key = `${r.outcome}${r.attempts > 1 ? ` after ${r.attempts} attempts` : ''}`;
          counts[key] = (counts[key] ?? 0) + 1;
          return counts;
        }, {}),
      )
        .map(([k, n]) => `${n} ${k}`)
        .join(', ');
    const describeRecords = (records: RequestRecord[]) =>
      JSON.stringify(records.filter((r) => r.outcome !== 'ok' || r.attempts > 1).slice(0, 10));

    void test('SIGKILL of one API and its worker under load: every answer a 200 or a 503 with Retry-After; its bound tokens refresh on the other', async (t) => {
      // The victim is the API whose worker issued the first bound token, so that token must refresh on the other.
      const victimPid = bound[0]!.pid;
      const victim = [...services.values()].find((s) => s.child.pid === victimPid)!;
      const survivorPid = workerPids().find((pid) => pid !== victimPid)!;
      const running = load(3);
      await new Promise((r) => setTimeout(r, 3_000));
      victim.child.kill('SIGKILL');
      await new Promise((r) => setTimeout(r, 10_000));
      const records = await running.stop();
      t.diagnostic(tally(records));
      assert.ok(records.length >= 20, `${records.length} requests`);
      // `503` is a final 503 with Retry-After (the client retried while its deadline allowed); anything else,
      // a 503 without Retry-After, a 500, a hang or a token SAS refuses, counts as lost.
      assert.deepEqual(
        records.filter((r) => r.outcome !== 'ok' && r.outcome !== '503'),
        [],
        describeRecords(records),
      );

      // Every bound token the dead worker issued refreshes on the survivor: the fingerprint secret is shared.
      const issuedByVictim = bound.filter((b) => b.pid === victimPid);
      assert.ok(issuedByVictim.length > 0);
      for (const b of issuedByVictim) {
        const res = await fetch(
          `${urls.edge}/v2/Webchat/Token/Refresh`,
          secureForm({ DeploymentKey: 'dk_demo_secure', Token: b.token }, b.clientIp),
        );
        assert.equal(res.status, 200, await res.clone().text());
        const refreshed = (await res.json()) as { token: string; identity: string };
        assert.equal(refreshed.identity, b.identity);
        const identities = await workerOfRun(res.headers.get('x-request-id'));
        assert.ok(
          identities.length > 0 && identities.every((id) => pidOf(id) === survivorPid),
          'the survivor',
        );
        const forBrowser = await validateAt(urls.sas2!, refreshed.token, widgetHeaders());
        assert.equal(forBrowser.authorized, true);
        assert.deepEqual(await validateAt(urls.sas1!, refreshed.token, otherBrowserHeaders()), {
          authorized: false,
          message: 'fingerprint_validation_failed',
        });
      }

      // As an orchestrator would, a new API takes the dead one's place with the same variables.
      await launch(victim.name, 'api', victim.env, httpReady('/readyz')).ready();
      // The edge brings it back with its next health check (every 250 ms).
      await new Promise((r) => setTimeout(r, 1_000));
    });

    void test('a rolling restart of both APIs under load (one at a time, SIGTERM, wait ready): every answer a 200', async (t) => {
      const running = load(2);
      await new Promise((r) => setTimeout(r, 2_000));
      for (const name of ['api-1', 'api-2']) {
        const old = services.get(name)!;
        // The grace outlasts the API's shutdown delay and its longest request (TOKEN_DEADLINE_MS).
        await terminate(old.child, 60_000);
        const fresh = launch(name, 'api', old.env, httpReady('/readyz'));
        await fresh.ready();
        // The edge brings it back with its next health check (every 250 ms).
        await new Promise((r) => setTimeout(r, 1_000));
      }
      await new Promise((r) => setTimeout(r, 2_000));
      const records = await running.stop();
      t.diagnostic(tally(records));
      assert.ok(records.length >= 20, `${records.length} requests`);
      assert.deepEqual(
        records.filter((r) => r.outcome !== 'ok' || r.attempts !== 1),
        [],
        describeRecords(records),
      );
      // The restarted APIs serve again.
      for (const api of [urls.api1!, urls.api2!]) assert.ok((await issuedBy(api)) > 0, `${api} serves`);
    });

    void test('no run is left open, no process made a secret of its own, and no secret reached a log', async () => {
      let open = -1;
      for (let tries = 0; tries < 60; tries++) {
        open = (await client.workflow.count('ExecutionStatus="Running"')).count;
        if (open === 0) break;
        await new Promise((r) => setTimeout(r, 1_000));
      }
      assert.equal(open, 0, 'Running workflows');

      for (const name of services.keys()) {
        const entries = await readdir(join(dir, name)).catch(() => [] as string[]);
        assert.ok(
          !entries.includes('secrets') && !entries.includes('keys'),
          `${name} wrote ${entries.join(', ')}`,
        );
      }
      const text = logs.join('\n');
      const codecKey = Object.values(
        (JSON.parse(secrets.CODEC_KEYS) as { keys: Record<string, string> }).keys,
      )[0]!;
      for (const value of [
        secrets.FINGERPRINT_SECRET,
        secrets.FAS_AUTH_SECRET,
        secrets.SAS_AUTH_SECRET,
        codecKey,
      ]) {
        assert.ok(!text.includes(value), 'a secret in a log');
      }
      for (const b of bound) assert.ok(!text.includes(b.token), 'a token in a log');
    });
  },
);

/** The variable that holds the port of a service named `api-1`, `sas-2`, `fas`, `edge`, ... */
function portVariable(name: string): string {
  return `${name.replace(/-\d+$/, '').toUpperCase()}_PORT`;
}
