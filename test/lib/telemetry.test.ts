import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, type Worker } from '@temporalio/worker';
import { createFasClient, type FasClient } from '../../activities';
import { createApp } from '../../api/app';
import { temporalTokenRuns } from '../../api/temporalTokenRuns';
import { loadEdgeConfig } from '../../edge/config';
import { startEdge } from '../../edge/start';
import { serve, type Served } from '../../lib/http/serve';
import { createLogger } from '../../lib/logger';
import { loadServiceCredentials } from '../../lib/serviceAuth';
import { startTelemetry, type Telemetry } from '../../lib/telemetry';
import { temporalPlugins } from '../../lib/temporalTracing';
import { loadFederatedAuthConfig } from '../../services/federated-auth/config';
import { startFederatedAuth } from '../../services/federated-auth/start';
import { loadScopedAuthConfig } from '../../services/scoped-auth/config';
import { startScopedAuth } from '../../services/scoped-auth/start';
import type { AccountStore } from '../../store/accountStore';
import { openStore } from '../../store/openStore';
import { seedDemoAccounts } from '../../store/seed';
import { createWorker, workflowsPath } from '../../worker/createWorker';
import { testFingerprintSecret } from '../helpers/runIssuance';
import { localEnv } from '../helpers/temporal';

/**
 * One token request through every hop, each hop in this process but talking to the next over real HTTP or the
 * real Temporal dev server: edge → API → workflow → activities → FAS → SAS. All of them export into one
 * in-memory exporter, so each hop is told apart by its span (the server span on its port, the Temporal spans by
 * name); each must carry the trace id of the edge's server span.
 */
describe('tracing: one trace per token request across every hop', () => {
  const exporter = new InMemorySpanExporter();
  let telemetry: Telemetry;
  let dir: string;
  let env: TestWorkflowEnvironment;
  let store: AccountStore;
  let fasClient: FasClient;
  let worker: Worker;
  let running: Promise<void>;
  const served: Served[] = [];
  const ports: Record<'edge' | 'api' | 'fas' | 'sas', number> = { edge: 0, api: 0, fas: 0, sas: 0 };
  const taskQueue = `trace-${randomUUID()}`;
  const logLines: string[] = [];
  const logger = createLogger('trace-test', 'info', { write: (line: string) => void logLines.push(line) });
  const portOf = (s: Served) => Number(new URL(s.url).port);

  before(async () => {
    const started = startTelemetry('trace-test', { spanProcessor: new SimpleSpanProcessor(exporter) });
    assert.ok(started);
    telemetry = started;
    dir = await mkdtemp(join(tmpdir(), 'trace-'));
    let bundle;
    [env, store, bundle] = await Promise.all([
      localEnv(),
      openStore({ dataDir: null }),
      // Built with the plugin, so that the bundle holds the workflow interceptors.
      bundleWorkflowCode({
        workflowsPath: workflowsPath(),
        plugins: temporalPlugins(),
        logger: new DefaultLogger('ERROR'),
      }),
    ]);
    await seedDemoAccounts(store);

    const sas = await startScopedAuth(
      loadScopedAuthConfig({ SAS_PORT: '0', DATA_DIR: dir, LOG_LEVEL: 'silent' }),
    );
    served.push(sas);
    const fas = await startFederatedAuth(
      loadFederatedAuthConfig({ FAS_PORT: '0', SAS_URL: sas.url, DATA_DIR: dir, LOG_LEVEL: 'silent' }),
    );
    served.push(fas);
    fasClient = createFasClient({
      baseUrl: fas.url,
      timeoutMs: 5000,
      credentials: await loadServiceCredentials('orchestrator', 'federated-auth', {
        file: join(dir, 'secrets', 'fas-auth.key'),
      }),
    });
    worker = await createWorker({
      connection: env.nativeConnection,
      namespace: env.namespace ?? 'default',
      taskQueue,
      workflowBundle: bundle,
      deps: { store, fas: fasClient, fingerprintSecret: testFingerprintSecret },
    });
    running = worker.run();
    const api = await serve(
      createApp({
        runs: temporalTokenRuns({
          connection: env.connection,
          namespace: env.namespace ?? 'default',
          logger,
          taskQueue,
        }),
        logger,
        deadlineMs: 15_000,
      }),
      0,
    );
    served.push(api);
    const edge = await startEdge(
      loadEdgeConfig({ EDGE_PORT: '0', HOST: '127.0.0.1', API_URL: api.url, LOG_LEVEL: 'silent' }),
      logger,
    );
    served.push(edge);
    Object.assign(ports, { sas: portOf(sas), fas: portOf(fas), api: portOf(api), edge: portOf(edge) });
  });

  after(async () => {
    for (const s of served.reverse()) await s.close();
    worker?.shutdown();
    await running;
    await fasClient?.close();
    await env?.teardown();
    await store?.close();
    await telemetry?.shutdown();
    await rm(dir, { recursive: true, force: true });
  });

  const serverSpan = (spans: ReadableSpan[], port: number) =>
    spans.find((s) => s.kind === SpanKind.SERVER && s.attributes['net.host.port'] === port);

  test('the edge, the API, the workflow, its activities, FAS and SAS share the edge trace id', async () => {
    exporter.reset();
    const res = await fetch(`http://127.0.0.1:${ports.edge}/v2/Webchat/Token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ deploymentKey: 'dk_demo_open' }),
    });
    assert.equal(res.status, 200, await res.clone().text());
    // SAS's server span ends once its answer is out, shortly after the edge's client has the token.
    let spans: ReadableSpan[] = [];
    for (let i = 0; i < 50; i++) {
      spans = exporter.getFinishedSpans();
      if (serverSpan(spans, ports.edge)) break;
      await new Promise((r) => setTimeout(r, 100));
    }

    const edge = serverSpan(spans, ports.edge);
    assert.ok(edge, 'the edge has a server span');
    const traceId = edge.spanContext().traceId;
    const hops: Record<string, ReadableSpan | undefined> = {
      api: serverSpan(spans, ports.api),
      'api → Temporal': spans.find((s) => s.name === 'StartWorkflow:CreateWebchatToken'),
      workflow: spans.find((s) => s.name === 'RunWorkflow:CreateWebchatToken'),
      activity: spans.find((s) => s.name === 'RunActivity:requestToken'),
      fas: serverSpan(spans, ports.fas),
      sas: serverSpan(spans, ports.sas),
    };
    for (const [hop, span] of Object.entries(hops)) {
      assert.ok(span, `${hop} has a span; got ${spans.map((s) => s.name).join(', ')}`);
      assert.equal(span.spanContext().traceId, traceId, `${hop} is in the edge's trace`);
    }
    // One request, one trace: nothing this request caused started a trace of its own.
    const requestTrace = spans.filter((s) => s.spanContext().traceId === traceId);
    assert.ok(requestTrace.length >= Object.keys(hops).length + 1);

    const apiLog = logLines
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .find((entry) => entry.requestId === res.headers.get('x-request-id') && entry.traceId !== undefined);
    assert.equal(apiLog?.traceId, traceId, 'the API log line of the request names the trace');
  });
});
