import { randomUUID } from 'node:crypto';
import {
  Client,
  type ConnectionLike,
  type WorkflowClientInterceptor,
  type WorkflowStartOptions,
} from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { Counter, type Registry } from 'prom-client';
import {
  CREATE_WORKFLOW_TYPE,
  REFRESH_WORKFLOW_TYPE,
  TASK_QUEUE,
  type CreateWebchatTokenInput,
  type CreateWebchatTokenResult,
  type RefreshWebchatTokenInput,
  type RefreshWebchatTokenResult,
} from '../domain/contracts';
import * as sa from '../domain/searchAttributes';
import type { Logger } from '../lib/logger';
import { temporalPlugins } from '../lib/temporalTracing';
import { idempotentWorkflowId, startIdempotent } from './idempotency';
import { rejectOnAbort } from './rejectOnAbort';
import { runWithDeadline } from './runWithDeadline';
import type { TokenRuns } from './tokenRuns';

/**
 * Workflow id of an issuance without an idempotency key: server-side randomness, never a client value, so no
 * client can pick an id, collide with another request's or reach into the `webchat-token-idem-` namespace (a
 * UUID is hex and dashes). The run is found from the X-Request-Id by its `WebchatRequestId` search attribute.
 */
const newWorkflowId = () => `webchat-token-${randomUUID()}`;

/** Workflow id of a refresh: server-side randomness, like an issuance's. */
const newRefreshWorkflowId = () => `webchat-refresh-${randomUUID()}`;

/** How long a completed issuance answers retries with the same `Idempotency-Key`. */
const DEFAULT_IDEMPOTENCY_WINDOW_MS = 10 * 60_000;

export interface TemporalTokenRunsOptions {
  /** A `Connection`, or the worker's `NativeConnection` when this process runs the worker too. */
  connection: ConnectionLike;
  namespace: string;
  logger: Logger;
  taskQueue?: string;
  /** The payload codec (encryption) shared with the worker. */
  dataConverter?: DataConverter;
  /**
   * Ask the server to hand each run's first workflow task straight back to the worker in this process (eager
   * workflow start): no trip through matching and no poll. Needs a worker on the same `NativeConnection`.
   */
  eagerStart?: boolean;
  /** Where `webchat_workflow_starts_total` is counted (the API's /metrics). */
  registry?: Registry;
  /** How long a completed run answers retries with the same `Idempotency-Key`. */
  idempotencyWindowMs?: number;
}

/**
 * Token runs as Temporal workflows, on one client: one `CreateWebchatToken` or `RefreshWebchatToken` run per
 * request, waited for within the deadline. When the deadline passes, the run is cancelled so that no token is
 * minted for a client that was told 503 (an idempotent issuance goes on: its client will retry with the key).
 */
export function temporalTokenRuns(opts: TemporalTokenRunsOptions): TokenRuns {
  const client = new Client({
    connection: opts.connection,
    namespace: opts.namespace,
    dataConverter: opts.dataConverter,
    plugins: temporalPlugins(),
    interceptors: opts.registry ? { workflow: [countStarts(opts.registry)] } : undefined,
  });
  const taskQueue = opts.taskQueue ?? TASK_QUEUE;
  const log = opts.logger;
  const idempotencyWindowMs = opts.idempotencyWindowMs ?? DEFAULT_IDEMPOTENCY_WINDOW_MS;

  /**
   * What every token run starts with: its timeouts, the UI's summary line, eager start when this process runs
   * the worker, and one search attribute, the request id (`WebchatRequestId`, a correlation id): the others a
   * run writes once, when it ends (workflows/steps.ts), but a run that never ends well (cancelled at the
   * deadline, failed) must be found from its request id too.
   *
   * The execution timeout outlives the HTTP deadline, so retries ride out short FAS or SAS blips. A run is one
   * workflow task whose local activities (the FAS call with its first retries) run inside it; the worker
   * heartbeats that task at 80 % of its timeout, and only then learns that the run was cancelled or
   * terminated, so the task timeout is short: such a run stops calling FAS within about 3 s.
   */
  const startOptions = <A extends { requestId: string }>(
    workflowId: string,
    input: A,
    staticSummary: string,
  ) =>
    ({
      taskQueue,
      workflowId,
      args: [input] as [A],
      workflowExecutionTimeout: '3m',
      workflowTaskTimeout: '4s',
      typedSearchAttributes: [{ key: sa.RequestId, value: input.requestId }],
      staticSummary,
      requestEagerStart: opts.eagerStart,
    }) satisfies Partial<WorkflowStartOptions>;

  return {
    runCreate(input, deadlineMs, options = {}) {
      const key = options.idempotencyKey;
      const workflowId = key
        ? idempotentWorkflowId('webchat-token', input.deploymentKey, key, [input.origin, input.signals])
        : newWorkflowId();
      const start = startOptions(workflowId, input, 'Webchat token issuance');
      return runWithDeadline(
        client,
        workflowId,
        deadlineMs,
        log.child({ requestId: input.requestId }),
        (c) =>
          key
            ? startIdempotent<CreateWorkflow>(c, CREATE_WORKFLOW_TYPE, start, idempotencyWindowMs)
            : c.workflow.start<CreateWorkflow>(CREATE_WORKFLOW_TYPE, start),
        !key,
      );
    },

    runRefresh(input, deadlineMs) {
      const workflowId = newRefreshWorkflowId();
      const start = startOptions(workflowId, input, 'Webchat token refresh');
      return runWithDeadline(client, workflowId, deadlineMs, log.child({ requestId: input.requestId }), (c) =>
        c.workflow.start<RefreshWorkflow>(REFRESH_WORKFLOW_TYPE, start),
      );
    },

    async ready() {
      try {
        const probe = client.withDeadline(Date.now() + 1000, () =>
          opts.connection.workflowService.getSystemInfo({}),
        );
        await Promise.race([probe, rejectOnAbort(AbortSignal.timeout(1000))]);
        return true;
      } catch {
        return false;
      }
    },
  };
}

type CreateWorkflow = (input: CreateWebchatTokenInput) => Promise<CreateWebchatTokenResult>;
type RefreshWorkflow = (input: RefreshWebchatTokenInput) => Promise<RefreshWebchatTokenResult>;

/** Counts every run the client starts, by workflow type and by whether the server started it eagerly. */
function countStarts(registry: Registry): WorkflowClientInterceptor {
  const counter = new Counter({
    name: 'webchat_workflow_starts_total',
    help: 'Workflow start calls, by type and by whether the server started the run eagerly (an idempotent retry that joins a running run counts as not eager).',
    labelNames: ['workflow', 'eager'],
    registers: [registry],
  });
  return {
    async startWithDetails(input, next) {
      const output = await next(input);
      counter.inc({ workflow: input.workflowType, eager: String(output.eagerlyStarted) });
      return output;
    },
  };
}
