import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { createApp } from '../../api/app';
import { runWithDeadline } from '../../api/runWithDeadline';
import { temporalTokenRuns } from '../../api/temporalTokenRuns';
import type { FasTokenRequest, IssuedToken } from '../../domain/contracts';
import { createLogger } from '../../lib/logger';
import { serve, type Served } from '../../lib/http/serve';
import type { AccountStore } from '../../store/accountStore';
import { openStore } from '../../store/openStore';
import { seedDemoAccounts } from '../../store/seed';
import { createWorker } from '../../worker/createWorker';
import { FakeFas } from '../helpers/fakeFas';
import { testFingerprintSecret } from '../helpers/runIssuance';
import { localEnv, workflowBundle } from '../helpers/temporal';

/** FAS that takes a while to answer, so that duplicates really arrive while the first run is in flight. */
class SlowFas extends FakeFas {
  delayMs = 0;
  override async postToken(
    accountSid: string,
    body: FasTokenRequest,
    requestId: string,
  ): Promise<IssuedToken> {
    const delay = this.delayMs;
    await new Promise((r) => setTimeout(r, delay));
    return super.postToken(accountSid, body, requestId);
  }
}

/**
 * `Idempotency-Key` end to end inside the API: the real Koa app over HTTP, the Temporal issuer on the real dev
 * server, a real worker with the real activities and account store; FAS is a counting fake.
 */
describe('Idempotency-Key on POST /v2/Webchat/Token (dev server, real worker)', () => {
  let env: TestWorkflowEnvironment;
  let store: AccountStore;
  let worker: Worker;
  let running: Promise<void>;
  let served: Served;
  let shortWindow: Served;
  let shortDeadline: Served;
  const fas = new SlowFas();
  const taskQueue = `idem-${randomUUID()}`;
  const logger = createLogger('api-test', 'silent');

  before(async () => {
    let bundle;
    [env, store, bundle] = await Promise.all([localEnv(), openStore({ dataDir: null }), workflowBundle()]);
    await seedDemoAccounts(store);
    worker = await createWorker({
      connection: env.nativeConnection,
      namespace: env.namespace ?? 'default',
      taskQueue,
      workflowBundle: bundle,
      deps: { store, fas, fingerprintSecret: testFingerprintSecret },
    });
    running = worker.run();
    const app = (idempotencyWindowMs: number, deadlineMs = 10_000) =>
      createApp({
        runs: temporalTokenRuns({
          connection: env.connection,
          namespace: env.namespace ?? 'default',
          logger,
          taskQueue,
          idempotencyWindowMs,
        }),
        logger,
        deadlineMs,
      });
    served = await serve(app(600_000), 0);
    shortWindow = await serve(app(1500), 0);
    shortDeadline = await serve(app(600_000, 500), 0);
  });
  after(async () => {
    await served?.close();
    await shortWindow?.close();
    await shortDeadline?.close();
    worker?.shutdown();
    await running;
    await env?.teardown();
    await store?.close();
  });

  const post = (
    key: string | undefined,
    deploymentKey = 'dk_demo_open',
    base = served,
    headers: Record<string, string> = {},
  ) =>
    fetch(`${base.url}/v2/Webchat/Token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(key === undefined ? {} : { 'idempotency-key': key }),
        ...headers,
      },
      body: JSON.stringify({ deploymentKey }),
    });
  const issued = async (res: Response) => {
    assert.equal(res.status, 200, await res.clone().text());
    return (await res.json()) as IssuedToken;
  };
  const fasCallsDuring = async <T>(fn: () => Promise<T>): Promise<[T, number]> => {
    const before = fas.calls.length;
    const result = await fn();
    return [result, fas.calls.length - before];
  };

  test('a sequential retry with the same key gets the same token and identity; FAS is called once', async () => {
    const key = randomUUID();
    const [[first, second], calls] = await fasCallsDuring(async () => {
      const a = await post(key);
      const b = await post(key);
      assert.notEqual(a.headers.get('x-request-id'), b.headers.get('x-request-id'));
      return [await issued(a), await issued(b)];
    });
    assert.deepEqual(second, first);
    assert.equal(calls, 1);
  });

  test('concurrent duplicates attach to one run: one FAS call, the same result for all', async () => {
    fas.delayMs = 800;
    try {
      const key = randomUUID();
      const [results, calls] = await fasCallsDuring(() =>
        Promise.all(Array.from({ length: 5 }, () => post(key).then(issued))),
      );
      assert.equal(calls, 1);
      for (const r of results) assert.deepEqual(r, results[0]);
    } finally {
      fas.delayMs = 0;
    }
  });

  test('a different key, the same key for another site, or no key at all: a new token each time', async () => {
    const key = randomUUID();
    const [tokens, calls] = await fasCallsDuring(async () => [
      await issued(await post(key)),
      await issued(await post(randomUUID())),
    ]);
    assert.equal(calls, 2);
    assert.notEqual(tokens[0]!.token, tokens[1]!.token);
    // Were keys not scoped by site, this would replay dk_demo_open's 200; its own run denies the unknown key.
    const otherSite = await post(key, 'dk_unknown_site');
    assert.equal(otherSite.status, 403);
    assert.equal(((await otherSite.json()) as { code: string }).code, 'invalid_deployment_key');
    const [plain, plainCalls] = await fasCallsDuring(async () => [
      await issued(await post(undefined)),
      await issued(await post(undefined)),
    ]);
    assert.equal(plainCalls, 2);
    assert.notEqual(plain[0]!.token, plain[1]!.token);
  });

  test('the same key from another browser or origin gets a run of its own, never the first token', async () => {
    const key = randomUUID();
    const first = await issued(await post(key));
    const [others, calls] = await fasCallsDuring(async () => [
      await issued(await post(key, 'dk_demo_open', served, { origin: 'https://evil.test' })),
      await issued(await post(key, 'dk_demo_open', served, { 'user-agent': 'another/1.0' })),
    ]);
    assert.equal(calls, 2);
    for (const other of others) assert.notEqual(other.token, first.token);
  });

  test('a retry after the window has passed mints a new token', async () => {
    const key = randomUUID();
    const first = await issued(await post(key, 'dk_demo_open', shortWindow));
    assert.deepEqual(await issued(await post(key, 'dk_demo_open', shortWindow)), first);
    await new Promise((r) => setTimeout(r, 1600));
    const [later, calls] = await fasCallsDuring(async () =>
      issued(await post(key, 'dk_demo_open', shortWindow)),
    );
    assert.equal(calls, 1);
    assert.notEqual(later.token, first.token);
  });

  test('a run that was terminated delivered nothing: the retry starts a new one and gets a token', async () => {
    const key = randomUUID();
    fas.delayMs = 60_000;
    const stuck = post(key);
    let workflowId: string | undefined;
    await waitFor(async () => {
      for await (const run of env.client.workflow.list({
        query: `TaskQueue="${taskQueue}" AND ExecutionStatus="Running"`,
      })) {
        workflowId = run.workflowId;
      }
      return workflowId !== undefined;
    });
    await env.client.workflow.getHandle(workflowId!).terminate('test: the run died');
    fas.delayMs = 0;
    assert.equal((await stuck).status, 503);
    const res = await post(key);
    const retried = await issued(res);
    // Counted by request id: the terminated run's own FAS attempts (its first still waiting out its delay, a
    // retry after its 5 s timeout if the worker had not yet heard of the termination) belong to the first
    // request, and whatever they return is delivered to nobody.
    const requestId = res.headers.get('x-request-id');
    assert.equal(fas.calls.filter((c) => c.requestId === requestId).length, 1);
    assert.match(retried.token, /^token-\d+$/);
  });

  test('past the API deadline the keyed run is not cancelled: the retry gets its token without a new mint', async () => {
    const key = randomUUID();
    fas.delayMs = 1200;
    try {
      const [[late, retried], calls] = await fasCallsDuring(async () => {
        const late = await post(key, 'dk_demo_open', shortDeadline); // deadline 500 ms
        await new Promise((r) => setTimeout(r, 1000));
        return [late, await issued(await post(key, 'dk_demo_open', shortDeadline))];
      });
      assert.equal(late.status, 503);
      assert.equal(late.headers.get('retry-after'), '2');
      assert.equal(calls, 1);
      assert.match(retried.token, /^token-\d+$/);
    } finally {
      fas.delayMs = 0;
    }
  });

  test('past the API deadline a run without a key is cancelled: the very run that was started', async () => {
    const requestId = `deadline-${randomUUID()}`;
    fas.delayMs = 6000; // longer than the 500 ms deadline and the ~3 s the cancel takes to reach the task
    try {
      const late = await post(undefined, 'dk_demo_open', shortDeadline, { 'x-request-id': requestId });
      assert.equal(late.status, 503);
      let run: { workflowId: string; runId: string } | undefined;
      await waitFor(async () => {
        for await (const r of env.client.workflow.list({ query: `WebchatRequestId="${requestId}"` })) {
          run = { workflowId: r.workflowId, runId: r.runId };
        }
        return run !== undefined;
      });
      assert.match(run!.workflowId, /^webchat-token-[0-9a-f-]{36}$/);
      const handle = env.client.workflow.getHandle(run!.workflowId, run!.runId);
      await waitFor(async () => (await handle.describe()).status.name === 'CANCELLED', 15_000);
      const events = (await handle.fetchHistory()).events ?? [];
      assert.equal(events.filter((e) => e.workflowExecutionCancelRequestedEventAttributes).length, 1);
    } finally {
      fas.delayMs = 0;
    }
  });

  test('the deadline cancels the run that was started, never a later run with the same workflow id', async () => {
    const workflowId = `exact-run-${randomUUID()}`;
    const idle = `no-worker-${randomUUID()}`; // nobody polls it: both runs stay open
    const start = { taskQueue: idle, workflowId, args: [{}] };
    let later: { workflowId: string; runId: string } | undefined;
    await assert.rejects(
      runWithDeadline(env.client, workflowId, 300, logger, async (c) => {
        const first = await c.workflow.start('CreateWebchatToken', start);
        // Behind this call's back the id gets a new run: the first one ends and another takes the id.
        await c.workflow.getHandle(workflowId, first.firstExecutionRunId).terminate('test: replaced');
        const second = await c.workflow.start('CreateWebchatToken', start);
        later = { workflowId, runId: second.firstExecutionRunId };
        // The first run's result, still awaited when the deadline passes.
        return { ...first, result: () => new Promise<never>(() => undefined) };
      }),
      { code: 'unavailable' },
    );
    const handle = env.client.workflow.getHandle(later!.workflowId, later!.runId);
    try {
      await new Promise((r) => setTimeout(r, 1000)); // the cancel is sent without waiting for it
      const events = (await handle.fetchHistory()).events ?? [];
      assert.ok(
        !events.some((e) => e.workflowExecutionCancelRequestedEventAttributes),
        'the later run was not asked to cancel',
      );
      assert.equal((await handle.describe()).status.name, 'RUNNING');
    } finally {
      await handle.terminate('test: done');
    }
  });

  test('a malformed Idempotency-Key is 400 invalid_request and starts nothing', async () => {
    for (const bad of ['', 'x'.repeat(129), 'has space', 'semi;colon', 'ünïcode']) {
      const [res, calls] = await fasCallsDuring(() =>
        fetch(`${served.url}/v2/Webchat/Token`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'idempotency-key': bad },
          body: JSON.stringify({ deploymentKey: 'dk_demo_open' }),
        }).catch((err: unknown) => err as Error),
      );
      if (res instanceof Error) continue; // fetch itself refuses some header values; nothing was sent then
      assert.equal(res.status, 400, bad);
      const body = (await res.json()) as { code: string; message: string };
      assert.equal(body.code, 'invalid_request');
      assert.match(body.message, /Idempotency-Key/);
      assert.equal(calls, 0);
    }
  });
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}
