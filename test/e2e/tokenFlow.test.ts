import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { Connection, Client } from '@temporalio/client';
import { temporalCliPath } from '../../lib/temporalBinaries';
import * as sa from '../../domain/searchAttributes';
import { randomPorts, startStack, type Stack } from '../../scripts/stack';
import { postAsService, stackCredentials } from '../../scripts/stack/serviceAuthorization';
import { dpopKey } from '../helpers/dpop';
import { otherBrowserHeaders, widgetHeaders } from '../helpers/widget';

const execFileAsync = promisify(execFile);

/**
 * The whole product over real HTTP: the Temporal dev server, SAS, FAS, the worker, the API and the edge, each
 * its own process, started as `make start` starts them. Every request goes through the edge.
 */
describe('end to end, through the edge', () => {
  let stack: Stack;
  let dataDir: string;
  const logs: string[] = [];

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'webchat-e2e-'));
    stack = await startStack({
      ports: await randomPorts(),
      dataDir,
      output: (name, line) => logs.push(`[${name}] ${line}`),
    });
  });

  after(async () => {
    await stack?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  const token = (body: string, headers: Record<string, string>) =>
    fetch(`${stack.urls.edge}/v2/Webchat/Token`, { method: 'POST', headers, body });

  /** A client of the stack's Temporal, for the duration of `fn`. */
  const withTemporal = async <T>(fn: (client: Client) => Promise<T>): Promise<T> => {
    const connection = await Connection.connect({ address: stack.urls.temporal });
    try {
      return await fn(new Client({ connection }));
    } finally {
      await connection.close();
    }
  };

  /** The runs that served requests with this X-Request-Id, found by their search attribute. */
  const runsOf = (client: Client, requestId: string, count = 1) =>
    eventually(async () => {
      const runs: { workflowId: string; runId: string }[] = [];
      for await (const run of client.workflow.list({ query: `WebchatRequestId="${requestId}"` })) {
        runs.push({ workflowId: run.workflowId, runId: run.runId });
      }
      return runs.length >= count ? runs : undefined;
    });

  /** FAS's count of token requests it answered: what a run must never reach to mint nothing. */
  const fasTokenRequests = async () => {
    const text = await (await fetch(`${stack.urls.fas}/metrics`)).text();
    return text
      .split('\n')
      .filter(
        (l) => l.startsWith('http_requests_total{') && l.includes('route="/v1/Accounts/:accountSid/Tokens"'),
      )
      .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
  };

  const validate = async (
    tokenValue: string,
    fingerprintOf?: Record<string, string>,
    dpop?: { proof: string; method: string; url: string },
  ) => {
    // SAS is internal: validation goes to it directly, as FAS would (and as a chat backend passes a DPoP proof on).
    const body: Record<string, unknown> = { token: tokenValue, ...(dpop && { dpop }) };
    if (fingerprintOf) body.fingerprint = await fingerprintFor(fingerprintOf);
    const url = `${stack.urls.sas}/v1/ScopedAuthTokens/validate`;
    const res = await postAsService(stackCredentials(dataDir, 'federated-auth', 'scoped-auth'), url, body);
    assert.equal(res.status, 200);
    return (await res.json()) as { authorized: boolean; message?: string; identity?: string };
  };

  /** The fingerprint the worker computed for a browser: the same code and the secret from the data folder. */
  const fingerprintFor = async (headers: Record<string, string>) => {
    const { generateFingerprint, collectSignals } = await import('../../lib/fingerprint');
    const { loadSecret } = await import('../../lib/secrets/secret');
    const secret = await loadSecret({ file: join(dataDir, 'secrets', 'fingerprint.key') });
    return generateFingerprint(collectSignals(headers, '127.0.0.1'), 'medium', secret).fingerprint;
  };

  test('dk_demo_open (JSON): 200 with token, identity, expiration; ACAO *; the token validates', async () => {
    const res = await token(JSON.stringify({ deploymentKey: 'dk_demo_open' }), {
      'content-type': 'application/json',
      origin: 'https://any.site.test',
    });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { token: string; identity: string; expiration: string };
    assert.deepEqual(Object.keys(body).sort(), ['expiration', 'identity', 'token']);
    assert.match(body.identity, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const ttl = Date.parse(body.expiration) - Date.now();
    assert.ok(ttl > 3500_000 && ttl <= 3600_000, `expiration about an hour ahead, was ${ttl} ms`);
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
    const validated = await validate(body.token);
    assert.equal(validated.authorized, true);
    assert.equal(validated.identity, body.identity);
  });

  test('dk_demo_secure without the widget headers: 403 fingerprint_generation_failed', async () => {
    const res = await token(JSON.stringify({ deploymentKey: 'dk_demo_secure' }), {
      'content-type': 'application/json',
      origin: 'http://localhost:8081',
    });
    assert.equal(res.status, 403);
    assert.equal(((await res.json()) as { code: string }).code, 'fingerprint_generation_failed');
    assert.equal(res.headers.get('access-control-allow-origin'), 'http://localhost:8081');
    assert.equal(res.headers.get('vary'), 'Origin');
  });

  test('dk_demo_secure, form-encoded with the widget headers: a bound token, refused for another browser', async () => {
    const headers = widgetHeaders();
    const res = await token(new URLSearchParams({ DeploymentKey: 'dk_demo_secure' }).toString(), {
      'content-type': 'application/x-www-form-urlencoded',
      origin: 'http://localhost:8081',
      ...headers,
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('access-control-allow-origin'), 'http://localhost:8081');
    const body = (await res.json()) as { token: string; identity: string };

    const same = await validate(body.token, headers);
    assert.equal(same.authorized, true);
    assert.equal(same.identity, body.identity);
    assert.deepEqual(await validate(body.token, otherBrowserHeaders()), {
      authorized: false,
      message: 'fingerprint_validation_failed',
    });
    assert.deepEqual(await validate(body.token), {
      authorized: false,
      message: 'fingerprint_validation_failed',
    });
  });

  test('dk_demo_secure from a disallowed origin: 403 origin_not_allowed, nothing minted, the joined list', async () => {
    const before = await fasTokenRequests();
    const res = await token(new URLSearchParams({ DeploymentKey: 'dk_demo_secure' }).toString(), {
      'content-type': 'application/x-www-form-urlencoded',
      origin: 'https://evil.test',
      ...widgetHeaders(),
    });
    assert.equal(res.status, 403);
    assert.equal(((await res.json()) as { code: string }).code, 'origin_not_allowed');
    assert.equal(await fasTokenRequests(), before, 'FAS was never asked');
    assert.equal(
      res.headers.get('access-control-allow-origin'),
      'http://localhost:8081,https://*.example.com',
    );
  });

  test('unknown key: 403 invalid_deployment_key', async () => {
    const res = await token('{"deploymentKey":"dk_not_a_key"}', { 'content-type': 'application/json' });
    assert.equal(res.status, 403);
    assert.equal(((await res.json()) as { code: string }).code, 'invalid_deployment_key');
  });

  test('each issuance is a CreateWebchatToken run with a server-made id, found by its request id', async () => {
    const res = await token(JSON.stringify({ deploymentKey: 'dk_demo_open' }), {
      'content-type': 'application/json',
    });
    assert.equal(res.status, 200);
    const requestId = res.headers.get('x-request-id');
    assert.ok(requestId);
    await withTemporal(async (client) => {
      const [run] = await runsOf(client, requestId);
      assert.match(
        run!.workflowId,
        /^webchat-token-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
      );
      assert.ok(!run!.workflowId.includes(requestId), 'the request id is not the workflow id');
      const handle = client.workflow.getHandle(run!.workflowId, run!.runId);
      const description = await handle.describe();
      assert.equal(description.typedSearchAttributes.get(sa.RequestId), requestId);
      assert.equal(description.type, 'CreateWebchatToken');
      assert.equal(description.status.name, 'COMPLETED');
      assert.equal(description.typedSearchAttributes.get(sa.Outcome), 'issued');
      assert.equal(description.typedSearchAttributes.get(sa.Security), false);
      const history = await handle.fetchHistory();
      const events = history.events ?? [];
      // Every step is a local activity: a marker in history each, and the run is one workflow task.
      const localActivities = events.filter(
        (e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity',
      );
      assert.equal(localActivities.length, 2, 'loadAccount, requestToken');
      assert.ok(!events.some((e) => e.activityTaskScheduledEventAttributes), 'no regular activity');
      const workflowTasks = events.filter((e) => e.workflowTaskCompletedEventAttributes);
      assert.equal(workflowTasks.length, 1);
    });
  });

  test('five concurrent requests with one X-Request-Id all succeed, each in its own run', async () => {
    const requestId = `client-chosen-${randomUUID().slice(0, 8)}`;
    const answers = await Promise.all(
      Array.from({ length: 5 }, () =>
        token(JSON.stringify({ deploymentKey: 'dk_demo_open' }), {
          'content-type': 'application/json',
          'x-request-id': requestId,
        }),
      ),
    );
    assert.deepEqual(
      answers.map((r) => r.status),
      [200, 200, 200, 200, 200],
    );
    for (const r of answers) assert.equal(r.headers.get('x-request-id'), requestId, 'kept as correlation id');
    const tokens = await Promise.all(answers.map(async (r) => ((await r.json()) as { token: string }).token));
    assert.equal(new Set(tokens).size, 5);
    await withTemporal(async (client) => {
      const runs = await runsOf(client, requestId, 5);
      assert.equal(new Set(runs.map((r) => r.workflowId)).size, 5);
      for (const run of runs) assert.ok(!run.workflowId.includes(requestId));
    });
    // A client id shaped like the idempotency namespace stays a correlation id too.
    const idemLike = await token(JSON.stringify({ deploymentKey: 'dk_demo_open' }), {
      'content-type': 'application/json',
      'x-request-id': 'idem-0000000000000000000000000000000000000000',
    });
    assert.equal(idemLike.status, 200);
  });

  test('a run started by hand with the Temporal CLI and plain input fails its workflow task and mints nothing', async () => {
    const before = await fasTokenRequests();
    const workflowId = `hand-started-${randomUUID()}`;
    const input = { requestId: 'by-hand-0001', deploymentKey: 'dk_demo_open', origin: null, signals: {} };
    await execFileAsync(temporalCliPath(), [
      'workflow',
      'start',
      '--address',
      stack.urls.temporal,
      '--task-queue',
      'webchat-token',
      '--type',
      'CreateWebchatToken',
      '--workflow-id',
      workflowId,
      '--execution-timeout',
      '1m',
      '--input',
      JSON.stringify(input),
    ]);
    await withTemporal(async (client) => {
      const handle = client.workflow.getHandle(workflowId);
      try {
        const failed = await eventually(async () => {
          const events = (await handle.fetchHistory()).events ?? [];
          return (
            events.find((e) => e.workflowTaskFailedEventAttributes)?.workflowTaskFailedEventAttributes ??
            undefined
          );
        });
        assert.match(failed.failure?.message ?? '', /unencrypted payload/);
        const events = (await handle.fetchHistory()).events ?? [];
        assert.ok(!events.some((e) => e.markerRecordedEventAttributes), 'no step ran');
        assert.ok(!events.some((e) => e.workflowTaskCompletedEventAttributes), 'no workflow task completed');
        assert.equal((await handle.describe()).status.name, 'RUNNING', 'no result, only failed tasks');
        assert.equal(await fasTokenRequests(), before, 'FAS was never asked for a token');
      } finally {
        await handle.terminate('test: a hand-started run');
      }
    });
  });

  test('refresh: same browser keeps its identity; another browser or a tampered token is refused', async () => {
    const headers = widgetHeaders();
    const form = { 'content-type': 'application/x-www-form-urlencoded', origin: 'http://localhost:8081' };
    const issuedRes = await token(new URLSearchParams({ DeploymentKey: 'dk_demo_secure' }).toString(), {
      ...form,
      ...headers,
    });
    assert.equal(issuedRes.status, 200);
    const issued = (await issuedRes.json()) as { token: string; identity: string; expiration: string };
    const refresh = (tokenValue: string, browser: Record<string, string>) =>
      fetch(`${stack.urls.edge}/v2/Webchat/Token/Refresh`, {
        method: 'POST',
        headers: { ...form, ...browser },
        body: new URLSearchParams({ DeploymentKey: 'dk_demo_secure', Token: tokenValue }).toString(),
      });

    await new Promise((r) => setTimeout(r, 1100)); // expirations have one-second resolution
    const same = await refresh(issued.token, headers);
    assert.equal(same.status, 200);
    assert.equal(same.headers.get('access-control-allow-origin'), 'http://localhost:8081');
    const refreshed = (await same.json()) as { token: string; identity: string; expiration: string };
    assert.equal(refreshed.identity, issued.identity);
    assert.notEqual(refreshed.token, issued.token);
    assert.ok(Date.parse(refreshed.expiration) > Date.parse(issued.expiration), 'a later expiry');
    assert.equal((await validate(refreshed.token, headers)).authorized, true, 'the new token is bound too');
    assert.deepEqual(await validate(refreshed.token, otherBrowserHeaders()), {
      authorized: false,
      message: 'fingerprint_validation_failed',
    });

    const other = await refresh(issued.token, otherBrowserHeaders());
    assert.equal(other.status, 403);
    assert.deepEqual(await other.json(), {
      valid: false,
      code: 'fingerprint_validation_failed',
      message: 'The token belongs to another browser.',
    });

    const last = issued.token.at(-2) === 'A' ? 'B' : 'A';
    const tampered = await refresh(issued.token.slice(0, -2) + last + issued.token.at(-1), headers);
    assert.equal(tampered.status, 403);
    assert.equal(((await tampered.json()) as { code: string }).code, 'invalid_token');
  });

  test('fingerprint guessing through the edge: the fifth refresh with a wrong browser revokes the session', async () => {
    const form = { 'content-type': 'application/x-www-form-urlencoded', origin: 'http://localhost:8081' };
    const body = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
    const issuedRes = await token(body({ DeploymentKey: 'dk_demo_secure' }), { ...form, ...widgetHeaders() });
    assert.equal(issuedRes.status, 200);
    const stolen = ((await issuedRes.json()) as { token: string }).token;
    // A thief tries browsers it guesses (languages, time zones): each one is refused, and each one counts.
    const guesses = ['fr-FR', 'es-ES', 'it-IT', 'nl-NL', 'pt-PT'].map((language) =>
      widgetHeaders({
        'accept-language': `${language},${language.slice(0, 2)};q=0.9`,
        'x-twilio-sec-usersettings': JSON.stringify({ language, cookieEnabled: true, userTimezone: -60 }),
      }),
    );
    for (const guess of guesses) {
      const res = await fetch(`${stack.urls.edge}/v2/Webchat/Token/Refresh`, {
        method: 'POST',
        headers: { ...form, ...guess },
        body: body({ DeploymentKey: 'dk_demo_secure', Token: stolen }),
      });
      assert.equal(res.status, 403);
      assert.equal(((await res.json()) as { code: string }).code, 'fingerprint_validation_failed');
    }
    // Now even the visitor's own browser cannot refresh or use it: the session is revoked.
    const owner = await fetch(`${stack.urls.edge}/v2/Webchat/Token/Refresh`, {
      method: 'POST',
      headers: { ...form, ...widgetHeaders() },
      body: body({ DeploymentKey: 'dk_demo_secure', Token: stolen }),
    });
    assert.equal(owner.status, 403);
    assert.equal(((await owner.json()) as { code: string }).code, 'invalid_token');
    assert.deepEqual(await validate(stolen, widgetHeaders()), {
      authorized: false,
      message: 'token_validation_failed',
    });
    assert.ok(
      logs.some((l) => l.startsWith('[sas]') && l.includes('session revoked: its refreshes kept presenting')),
      'SAS says why, with no signal in the line',
    );
  });

  test('key binding (DPoP): dk_demo_dpop issues only with a proof, and its token is worthless without the key', async () => {
    const form = { 'content-type': 'application/x-www-form-urlencoded', origin: 'http://localhost:8081' };
    const tokenUrl = `${stack.urls.edge}/v2/Webchat/Token`;
    const refreshUrl = `${stack.urls.edge}/v2/Webchat/Tokens/Refresh`;
    const codeOf = async (res: Response) => ((await res.json()) as { code: string }).code;
    const issue = (proof?: string) =>
      fetch(tokenUrl, {
        method: 'POST',
        headers: { ...form, ...(proof && { dpop: proof }) },
        body: new URLSearchParams({ DeploymentKey: 'dk_demo_dpop' }).toString(),
      });
    const key = await dpopKey();
    const thief = await dpopKey();

    const none = await issue();
    assert.deepEqual([none.status, await codeOf(none)], [400, 'dpop_proof_required']);
    assert.equal(none.headers.get('access-control-allow-origin'), 'http://localhost:8081');
    for (const bad of [
      await key.proof({ htu: `${stack.urls.edge}/v2/Webchat/Token/Refresh` }), // for another route
      await key.proof({ htu: tokenUrl, htm: 'GET' }),
      await key.proof({ htu: tokenUrl, iat: Math.floor(Date.now() / 1000) - 600 }), // stale
    ]) {
      const res = await issue(bad);
      assert.deepEqual([res.status, await codeOf(res)], [400, 'dpop_proof_required']);
    }
    const proof = await key.proof({ htu: tokenUrl });
    const issued = await issue(proof);
    assert.equal(issued.status, 200, await issued.clone().text());
    const { token: bound } = (await issued.json()) as { token: string };
    const replayed = await issue(proof);
    assert.deepEqual(
      [replayed.status, await codeOf(replayed)],
      [400, 'dpop_proof_required'],
      'a proof works once',
    );

    // A chat backend that receives the token with a proof passes both to SAS: only the key's own proof passes.
    const api = 'https://chat.example.com/messages';
    const withProof = async (k: typeof key, token = bound) =>
      validate(token, undefined, { proof: await k.proof({ htu: api, token }), method: 'POST', url: api });
    assert.equal((await withProof(key)).authorized, true);
    assert.deepEqual(await withProof(thief), { authorized: false, message: 'invalid_dpop_proof' });
    assert.deepEqual(await validate(bound), { authorized: false, message: 'invalid_dpop_proof' });

    // Refresh: the same key with the token's hash; the successor is bound to it too.
    const refresh = async (tokenValue: string, proofValue?: string) =>
      fetch(refreshUrl, {
        method: 'POST',
        headers: { ...form, ...(proofValue && { dpop: proofValue }) },
        body: new URLSearchParams({ DeploymentKey: 'dk_demo_dpop', Token: tokenValue }).toString(),
      });
    const refusedWith = async (res: Response) => [res.status, await codeOf(res)];
    const invalid = [403, 'invalid_dpop_proof'];
    assert.deepEqual(await refusedWith(await refresh(bound)), invalid, 'no proof');
    assert.deepEqual(
      await refusedWith(await refresh(bound, await thief.proof({ htu: refreshUrl, token: bound }))),
      invalid,
      'another key',
    );
    assert.deepEqual(
      await refusedWith(await refresh(bound, await key.proof({ htu: refreshUrl, token: 'another token' }))),
      invalid,
      'a proof for another token',
    );
    const refreshed = await refresh(bound, await key.proof({ htu: refreshUrl, token: bound }));
    assert.equal(refreshed.status, 200, await refreshed.clone().text());
    const { token: successor } = (await refreshed.json()) as { token: string };
    assert.equal((await withProof(key, successor)).authorized, true);
    assert.deepEqual(await validate(successor), { authorized: false, message: 'invalid_dpop_proof' });

    // An account without key binding ignores a proof: the token is not bound.
    const open = await fetch(tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', dpop: await key.proof({ htu: tokenUrl }) },
      body: JSON.stringify({ deploymentKey: 'dk_demo_open' }),
    });
    assert.equal(open.status, 200);
    assert.equal((await validate(((await open.json()) as { token: string }).token)).authorized, true);
  });

  test('temporal workflow show prints no token, key or signal in the clear', async () => {
    const res = await token(new URLSearchParams({ DeploymentKey: 'dk_demo_secure' }).toString(), {
      'content-type': 'application/x-www-form-urlencoded',
      ...widgetHeaders(),
    });
    assert.equal(res.status, 200);
    const issued = (await res.json()) as { token: string };
    const { stdout } = await execFileAsync(temporalCliPath(), [
      'workflow',
      'show',
      '--address',
      stack.urls.temporal,
      '--workflow-id',
      await withTemporal(
        async (client) => (await runsOf(client, res.headers.get('x-request-id')!))[0]!.workflowId,
      ),
      '--output',
      'json',
    ]);
    assert.ok(
      stdout.includes('binary/encrypted') || stdout.includes('YmluYXJ5L2VuY3J5cHRlZA'),
      'payloads encrypted',
    );
    const text =
      stdout + Buffer.from(stdout.match(/[A-Za-z0-9+/=]{16,}/g)?.join('') ?? '', 'base64').toString();
    for (const secret of [issued.token.slice(0, 40), 'dk_demo_secure', 'Chrome/131', 'userTimezone']) {
      assert.ok(!text.includes(secret), `history shows ${secret}`);
    }
  });

  test('bad input through the edge: 400 JSON with ACAO *', async () => {
    const res = await token('{"deploymentKey":', { 'content-type': 'application/json' });
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { code: string }).code, 'invalid_request');
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
  });

  test('metrics: the worker serves the Temporal runtime metrics, the API its issuances', async () => {
    assert.ok(stack.urls.workerMetrics, 'randomPorts gives the worker a metrics port');
    const worker = await fetch(`${stack.urls.workerMetrics}/metrics`);
    assert.equal(worker.status, 200);
    // Written once the worker has polled and run the issuances of the tests above.
    assert.match(await worker.text(), /^temporal_workflow_completed(_total)?(\{[^}]*\})? \d+/m);
    const api = await (await fetch(`${stack.urls.api}/metrics`)).text();
    assert.match(api, /^http_requests_total\{[^}]*route="\/v2\/Webchat\/Token"/m);
  });

  test('no log line carries a token, a deployment key, a fingerprint or a raw signal', async () => {
    assert.ok(
      logs.some((l) => l.startsWith('[api]') && l.includes('"msg":"request"')),
      'the API logged its requests',
    );
    const joined = logs.join('\n');
    const fingerprint = await fingerprintFor(widgetHeaders());
    for (const secret of [
      'dk_demo_open',
      'dk_demo_secure',
      'Chrome/131.0.0.0',
      'userTimezone',
      'eyJ',
      fingerprint,
    ]) {
      assert.ok(!joined.includes(secret), `logs mention ${secret}`);
    }
  });
});

/** Polls until `check` gives a value, for state that Temporal's visibility or a worker makes true shortly. */
async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}
