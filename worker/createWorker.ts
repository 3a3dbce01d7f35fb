import { type NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../activities';
import { TASK_QUEUE } from '../domain/contracts';
import { temporalPlugins } from '../lib/temporalTracing';

export interface CreateWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  deps: ActivityDeps;
  taskQueue?: string;
  /** A prebuilt bundle (tests build one per suite); else the workflows are bundled at start. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  /** The payload codec (encryption) shared with the API's client. */
  dataConverter?: WorkerOptions['dataConverter'];
}

/** The worker of the `webchat-token` task queue, with activities bound to their dependencies. */
export function createWorker({
  connection,
  namespace,
  deps,
  taskQueue = TASK_QUEUE,
  workflowBundle,
  dataConverter,
}: CreateWorkerOptions) {
  return Worker.create({
    connection,
    namespace,
    taskQueue,
    dataConverter,
    activities: createActivities(deps),
    plugins: temporalPlugins(),
    ...(workflowBundle ? { workflowBundle } : { workflowsPath: workflowsPath() }),
  });
}

export const workflowsPath = () => require.resolve('../workflows');
