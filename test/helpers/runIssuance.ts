import { randomUUID } from 'node:crypto';
import { Client } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import {
  CREATE_WORKFLOW_TYPE,
  type CreateWebchatTokenInput,
  type CreateWebchatTokenResult,
} from '../../lib/contracts';
import type { AccountStore } from '../../store/accountStore';
import { createWorker } from '../../worker/createWorker';
import { FakeFas } from './fakeFas';

export const testFingerprintSecret = new Uint8Array(32).fill(7);

/**
 * Runs one issuance on a test environment with a fresh worker on its own task queue, like the API starts it:
 * real activities on a real store, FAS replaced by `FakeFas`.
 */
export async function runIssuance(
  ctx: {
    env: TestWorkflowEnvironment;
    store: AccountStore;
    bundle: WorkflowBundleWithSourceMap;
    /** The payload codec, for both the worker and the client that starts the run. */
    dataConverter?: DataConverter;
  },
  input: Partial<CreateWebchatTokenInput>,
  fas = new FakeFas(),
): Promise<{ result: CreateWebchatTokenResult; fas: FakeFas; workflowId: string }> {
  const taskQueue = `test-${randomUUID()}`;
  const workflowId = `webchat-token-${randomUUID()}`;
  const worker = await createWorker({
    connection: ctx.env.nativeConnection,
    namespace: ctx.env.namespace ?? 'default',
    taskQueue,
    workflowBundle: ctx.bundle,
    dataConverter: ctx.dataConverter,
    deps: { store: ctx.store, fas, fingerprintSecret: testFingerprintSecret },
  });
  const args: CreateWebchatTokenInput = {
    requestId: workflowId,
    deploymentKey: 'dk_demo_open',
    origin: null,
    signals: {},
    ...input,
  };
  const client = ctx.dataConverter
    ? new Client({
        connection: ctx.env.connection,
        namespace: ctx.env.namespace,
        dataConverter: ctx.dataConverter,
      })
    : ctx.env.client;
  const result: CreateWebchatTokenResult = await worker.runUntil(
    client.workflow.execute<(i: CreateWebchatTokenInput) => Promise<CreateWebchatTokenResult>>(
      CREATE_WORKFLOW_TYPE,
      { taskQueue, workflowId, args: [args] },
    ),
  );
  return { result, fas, workflowId };
}
