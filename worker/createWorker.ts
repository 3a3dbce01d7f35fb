import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../activities';
import { TASK_QUEUE } from '../domain/contracts';
import { temporalPlugins } from '../lib/temporalTracing';

export interface CreateWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  deps: ActivityDeps;
  taskQueue?: string;
  /**
   * A prebuilt bundle (tests build one per suite); else the compiled worker loads the one `npm run build` wrote
   * (`prebuiltBundle`), and the TypeScript worker bundles the workflows at start.
   */
  workflowBundle?: WorkerOptions['workflowBundle'];
  /** The payload codec (encryption) shared with the API's client. */
  dataConverter?: WorkerOptions['dataConverter'];
}

/**
 * Workflow tasks one worker runs at once. At least the API's `MAX_IN_FLIGHT` (api/config.ts) for every API
 * instance it serves: an eagerly started run needs a free slot in the worker beside the client, or the server
 * falls back to the matching service (a poll round trip, and a queue under load). A run is one short workflow
 * task, so slots cost memory only while runs are in flight; the SDK's default is 40.
 */
const WORKFLOW_TASK_SLOTS = 128;

/** The worker of the `webchat-token` task queue, with activities bound to their dependencies. */
export function createWorker({
  connection,
  namespace,
  deps,
  taskQueue = TASK_QUEUE,
  workflowBundle,
  dataConverter,
}: CreateWorkerOptions) {
  const plugins = temporalPlugins();
  return Worker.create({
    connection,
    namespace,
    taskQueue,
    dataConverter,
    activities: createActivities(deps),
    plugins,
    maxConcurrentWorkflowTaskExecutions: WORKFLOW_TASK_SLOTS,
    // A run is evicted when it completes; the cache only holds runs in flight (and ones waiting on a timer).
    maxCachedWorkflows: 4 * WORKFLOW_TASK_SLOTS,
    // Up to three store reads side by side per run.
    maxConcurrentLocalActivityExecutions: 3 * WORKFLOW_TASK_SLOTS,
    ...(workflowBundle
      ? { workflowBundle }
      : (prebuiltBundle(plugins.length > 0) ?? { workflowsPath: workflowsPath() })),
  });
}

/** The bundles `npm run build` writes at the top of dist/ (scripts/build.ts). */
export const prebuiltBundleFiles = { plain: 'workflow-bundle.js', traced: 'workflow-bundle-traced.js' };

/**
 * The compiled worker (dist/worker/createWorker.js) loads the workflow bundle built with it, so it starts without
 * webpack; with tracing on, the one with the OpenTelemetry workflow interceptors. Undefined when this runs as
 * TypeScript (tsx): the workflows are then bundled at start, from the sources.
 * @public test/build/build.test.ts calls it on the compiled module, which no import shows.
 */
export function prebuiltBundle(traced: boolean): { workflowBundle: { codePath: string } } | undefined {
  if (!__filename.endsWith('.js')) return undefined;
  const codePath = join(__dirname, '..', traced ? prebuiltBundleFiles.traced : prebuiltBundleFiles.plain);
  if (!existsSync(codePath)) throw new Error(`${codePath} is missing: run npm run build`);
  return { workflowBundle: { codePath } };
}

export const workflowsPath = () => require.resolve('../workflows');
