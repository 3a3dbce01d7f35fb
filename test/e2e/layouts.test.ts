import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { randomPorts, startStack, type Stack } from '../../scripts/stack';
import { widgetHeaders } from '../helpers/widget';

/**
 * The default layout (`API_RUN_WORKER=true`, as `make start` and the fleet run): no worker process, the API runs
 * the worker on its own connection and the server starts every run eagerly, so an issuance is one workflow task
 * that never goes through matching.
 */
describe('end to end, the worker inside the API (eager workflow start)', () => {
  let stack: Stack;
  let dataDir: string;
  const logs: string[] = [];

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'webchat-e2e-eager-'));
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

  const post = (body: string, headers: Record<string, string>) =>
    fetch(`${stack.urls.edge}/v2/Webchat/Token`, { method: 'POST', headers, body });
  const form = (key: string) => new URLSearchParams({ DeploymentKey: key }).toString();
  const widget = {
    ...widgetHeaders(),
    'content-type': 'application/x-www-form-urlencoded',
    origin: 'http://localhost:8081',
  };

  test('no worker process: the API serves tokens for both demo keys, and denies as before', async () => {
    assert.equal(stack.processes.has('worker'), false);
    for (const key of ['dk_demo_open', 'dk_demo_secure']) {
      const res = await post(form(key), widget);
      assert.equal(res.status, 200, key);
      const body = (await res.json()) as { token: string };
      assert.ok(body.token.length > 100);
    }
    const denied = await post(form('dk_demo_secure'), {
      'content-type': 'application/x-www-form-urlencoded',
      origin: 'http://localhost:8081',
    });
    assert.equal(denied.status, 403);
    assert.equal(((await denied.json()) as { code: string }).code, 'fingerprint_generation_failed');
  });

  test('every run was started eagerly and is one workflow task with every step a marker', async () => {
    const res = await post(form('dk_demo_open'), widget);
    assert.equal(res.status, 200);
    const metrics = await (await fetch(`${stack.urls.api}/metrics`)).text();
    assert.match(
      metrics,
      /webchat_workflow_starts_total\{workflow="CreateWebchatToken",eager="true"[^}]*\} [1-9]/,
    );
    assert.doesNotMatch(metrics, /webchat_workflow_starts_total\{[^}]*eager="false"/);

    const connection = await Connection.connect({ address: stack.urls.temporal });
    try {
      // The run's id is the API's own; the request id finds it through its search attribute.
      const client = new Client({ connection });
      const query = `WebchatRequestId="${res.headers.get('x-request-id')}"`;
      let workflowId: string | undefined;
      for (let i = 0; i < 100 && workflowId === undefined; i++) {
        for await (const run of client.workflow.list({ query })) workflowId = run.workflowId;
        if (workflowId === undefined) await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(workflowId, 'the run is found by its WebchatRequestId');
      const handle = client.workflow.getHandle(workflowId);
      const events = (await handle.fetchHistory()).events ?? [];
      assert.equal(events.filter((e) => e.workflowTaskCompletedEventAttributes).length, 1);
      const markers = events.filter(
        (e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity',
      );
      assert.equal(markers.length, 2, 'loadAccount, requestToken');
      assert.ok(events.at(-1)?.workflowExecutionCompletedEventAttributes);
    } finally {
      await connection.close();
    }
  });

  test('SIGTERM stops the API and its worker cleanly', async () => {
    const api = stack.processes.get('api')!;
    const exited = new Promise<number | null>((resolve) => api.once('exit', (code) => resolve(code)));
    api.kill('SIGTERM');
    assert.equal(await exited, 0);
    assert.ok(logs.some((l) => l.startsWith('[api]') && l.includes('"msg":"worker stopped"')));
  });
});

/** The other layout (`API_RUN_WORKER=false`): a worker process of its own, runs started through matching. */
describe('end to end, a separate worker process', () => {
  let stack: Stack;
  let dataDir: string;

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'webchat-e2e-separate-'));
    stack = await startStack({ ports: await randomPorts(), dataDir, separateWorker: true, output: () => {} });
  });

  after(async () => {
    await stack?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  test('the worker process runs what the API starts, none of it eagerly', async () => {
    assert.equal(stack.processes.has('worker'), true);
    const res = await fetch(`${stack.urls.edge}/v2/Webchat/Token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ deploymentKey: 'dk_demo_open' }),
    });
    assert.equal(res.status, 200, await res.clone().text());
    const metrics = await (await fetch(`${stack.urls.api}/metrics`)).text();
    assert.match(
      metrics,
      /webchat_workflow_starts_total\{workflow="CreateWebchatToken",eager="false"[^}]*\} 1/,
    );
    assert.doesNotMatch(metrics, /webchat_workflow_starts_total\{[^}]*eager="true"/);
  });
});
