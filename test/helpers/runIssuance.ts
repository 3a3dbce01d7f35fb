import { randomUUID } from 'node:crypto';
import { Client } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import {
  CREATE_WORKFLOW_TYPE,
  REFRESH_WORKFLOW_TYPE,
  type CreateWebchatTokenInput,
  type CreateWebchatTokenResult,
  type RefreshWebchatTokenInput,
  type RefreshWebchatTokenResult,
} from '../../domain/contracts';
import type { AccountStore } from '../../store/accountStore';
import { createWorker } from '../../worker/createWorker';
import { FakeFas } from './fakeFas';

export const testFingerprintSecret = new Uint8Array(32).fill(7);

export interface RunContext {
  env: TestWorkflowEnvironment;
  store: AccountStore;
  bundle: WorkflowBundleWithSourceMap;
  /** The payload codec, for both the worker and the client that starts the run. */
  dataConverter?: DataConverter;
}

/**
 * Runs one workflow on a test environment with a fresh worker on its own task queue, like the API starts it:
 * real activities on a real store, FAS replaced by `FakeFas`.
 */
async function runWorkflow<I, R>(
  ctx: RunContext,
  type: string,
  args: I,
  fas: FakeFas,
): Promise<{ result: R; fas: FakeFas; workflowId: string }> {
  const taskQueue = `test-${randomUUID()}`;
  const workflowId = (args as { requestId: string }).requestId;
  const worker = await createWorker({
    connection: ctx.env.nativeConnection,
    namespace: ctx.env.namespace ?? 'default',
    taskQueue,
    workflowBundle: ctx.bundle,
    dataConverter: ctx.dataConverter,
    deps: { store: ctx.store, fas, fingerprintSecret: testFingerprintSecret },
  });
  const client = ctx.dataConverter
    ? new Client({
        connection: ctx.env.connection,
        namespace: ctx.env.namespace,
        dataConverter: ctx.dataConverter,
      })
    : ctx.env.client;
  const result = await worker.runUntil(
    client.workflow.execute<(i: I) => Promise<R>>(type, { taskQueue, workflowId, args: [args] }),
  );
  return { result, fas, workflowId };
}

export function runIssuance(ctx: RunContext, input: Partial<CreateWebchatTokenInput>, fas = new FakeFas()) {
  return runWorkflow<CreateWebchatTokenInput, CreateWebchatTokenResult>(
    ctx,
    CREATE_WORKFLOW_TYPE,
    {
      requestId: `webchat-token-${randomUUID()}`,
      deploymentKey: 'dk_demo_open',
      origin: null,
      signals: {},
      ...input,
    },
    fas,
  );
}

export function runRefresh(ctx: RunContext, input: Partial<RefreshWebchatTokenInput>, fas: FakeFas) {
  return runWorkflow<RefreshWebchatTokenInput, RefreshWebchatTokenResult>(
    ctx,
    REFRESH_WORKFLOW_TYPE,
    {
      requestId: `webchat-refresh-${randomUUID()}`,
      deploymentKey: 'dk_demo_open',
      token: '',
      origin: null,
      signals: {},
      ...input,
    },
    fas,
  );
}
