import {
  Client,
  type ConnectionLike,
  type WorkflowClientInterceptor,
  type WorkflowStartOptions,
} from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { Counter, type Registry } from 'prom-client';
import * as sa from '../domain/searchAttributes';
import { temporalPlugins } from '../lib/temporalTracing';

/** What the API's Temporal-backed issuer and refresher are built from. */
export interface TemporalClientOptions {
  /** A `Connection`, or the worker's `NativeConnection` when this process runs the worker too. */
  connection: ConnectionLike;
  namespace: string;
  /** The payload codec (encryption) shared with the worker. */
  dataConverter?: DataConverter;
  /**
   * Ask the server to hand each run's first workflow task straight back to the worker in this process (eager
   * workflow start): no trip through matching and no poll. Needs a worker on the same `NativeConnection`.
   */
  eagerStart?: boolean;
  /** Where `webchat_workflow_starts_total` is counted (the API's /metrics). */
  registry?: Registry;
}

/**
 * A client with the payload codec and, when tracing is on, the OpenTelemetry plugin; with a registry, it counts
 * every run it starts by workflow type and by whether the server started it eagerly.
 */
export function temporalClient({
  connection,
  namespace,
  dataConverter,
  registry,
}: TemporalClientOptions): Client {
  return new Client({
    connection,
    namespace,
    dataConverter,
    plugins: temporalPlugins(),
    interceptors: registry ? { workflow: [countStarts(registry)] } : undefined,
  });
}

function countStarts(registry: Registry): WorkflowClientInterceptor {
  const name = 'webchat_workflow_starts_total';
  const counter =
    (registry.getSingleMetric(name) as Counter<'workflow' | 'eager'> | undefined) ??
    new Counter({
      name,
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

/**
 * What every token run starts with, whichever workflow: its timeouts, the `pending` outcome (so the UI can list
 * runs still going) and the request id, the UI's summary line, and eager start when this process runs the worker.
 *
 * The execution timeout outlives the HTTP deadline, so retries ride out short FAS or SAS blips. A run is one
 * workflow task whose local activities (the FAS call with its first retries) run inside it; the worker
 * heartbeats that task at 80 % of its timeout, and only then learns that the run was cancelled or terminated, so
 * the task timeout is short: such a run stops calling FAS within about 3 s.
 */
export function runStartOptions(
  opts: Pick<TemporalClientOptions, 'eagerStart'>,
  staticSummary: string,
  /** The request's `X-Request-Id`, searchable as `WebchatRequestId`. */
  requestId: string,
) {
  return {
    workflowExecutionTimeout: '3m',
    workflowTaskTimeout: '4s',
    typedSearchAttributes: [
      { key: sa.Outcome, value: 'pending' },
      { key: sa.RequestId, value: requestId },
    ],
    staticSummary,
    requestEagerStart: opts.eagerStart,
  } satisfies Partial<WorkflowStartOptions>;
}
