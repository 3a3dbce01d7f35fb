import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { CREATE_WORKFLOW_TYPE, type CreateWebchatTokenResult } from '../../domain/contracts';
import { freePorts, terminate, waitForHttp } from '../../scripts/stack';
import { openStore } from '../../store/openStore';
import type { AccountStore } from '../../store/accountStore';
import { seedDemoAccounts } from '../../store/seed';
import type * as CreateWorkerModule from '../../worker/createWorker';
import { FakeFas } from '../helpers/fakeFas';
import { testFingerprintSecret } from '../helpers/runIssuance';
import { timeSkippingEnv } from '../helpers/temporal';

const root = resolve(__dirname, '../..');
const dist = join(root, 'dist');
const loadCompiled = createRequire(__filename);

/**
 * `npm run build` (scripts/build.ts) and what runs from it: the compiled worker runs a real issuance from the
 * prebuilt workflow bundle, and `npm run start:*` with NODE_ENV=production starts a compiled service.
 */
describe('the production build', () => {
  let env: TestWorkflowEnvironment;
  let store: AccountStore;
  const children: ChildProcess[] = [];

  before(async () => {
    const build = spawn(process.execPath, ['--import', 'tsx', 'scripts/build.ts'], {
      cwd: root,
      stdio: ['ignore', 'inherit', 'pipe'],
    });
    let stderr = '';
    build.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise((r) => build.once('exit', r));
    assert.equal(code, 0, stderr.slice(-4000));
    [env, store] = await Promise.all([timeSkippingEnv(), openStore({ dataDir: null })]);
    await seedDemoAccounts(store);
  });

  after(async () => {
    for (const child of children) await terminate(child);
    await store?.close();
    await env?.teardown();
  });

  test('writes compiled entry points and both workflow bundles', () => {
    for (const file of [
      'api/main.js',
      'worker/main.js',
      'edge/main.js',
      'services/federated-auth/main.js',
      'services/scoped-auth/main.js',
      'services/codec-server/main.js',
      'store/migrations.js',
      'web/public/index.html',
      'workflow-bundle.js',
      'workflow-bundle-traced.js',
    ]) {
      assert.ok(existsSync(join(dist, file)), `dist/${file}`);
    }
  });

  test('the compiled worker loads the prebuilt bundle (no webpack) and issues a token', async () => {
    // Compiled JavaScript, loaded as is: tsx only handles .ts files.
    const compiled = loadCompiled(join(dist, 'worker', 'createWorker.js')) as typeof CreateWorkerModule;
    assert.deepEqual(compiled.prebuiltBundle(false), {
      workflowBundle: { codePath: join(dist, 'workflow-bundle.js') },
    });
    const taskQueue = `build-test-${randomUUID()}`;
    const fas = new FakeFas();
    const worker = await compiled.createWorker({
      connection: env.nativeConnection,
      namespace: env.namespace ?? 'default',
      taskQueue,
      deps: { store, fas, fingerprintSecret: testFingerprintSecret },
    });
    const result = await worker.runUntil(
      env.client.workflow.execute<(i: unknown) => Promise<CreateWebchatTokenResult>>(CREATE_WORKFLOW_TYPE, {
        taskQueue,
        workflowId: `webchat-token-${randomUUID()}`,
        args: [{ requestId: randomUUID(), deploymentKey: 'dk_demo_open', origin: null, signals: {} }],
      }),
    );
    assert.equal(result.outcome, 'issued');
    assert.equal(fas.calls.length, 1);
  });

  test('npm run start:edge with NODE_ENV=production runs the compiled service', async () => {
    const [port] = await freePorts(1);
    const child = spawn(process.execPath, ['scripts/service.js', 'edge'], {
      cwd: root,
      env: {
        ...process.env,
        NODE_ENV: 'production',
        NODE_OPTIONS: '',
        HOST: '127.0.0.1',
        EDGE_PORT: String(port),
        API_URL: 'http://127.0.0.1:9',
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    children.push(child);
    await waitForHttp(`http://127.0.0.1:${port}/healthz`, child);
  });
});
