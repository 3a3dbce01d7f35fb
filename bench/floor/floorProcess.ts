/**
 * The Temporal floor of the benchmark (bench/README.md): a client and a worker sharing one `NativeConnection`
 * in this process, on the dev server the product uses, start an empty workflow eagerly and wait for its result.
 * What a run costs here is what Temporal itself costs, with no product code around it.
 *
 * Run by bench/runBench.ts with an IPC channel: each message is a load (`FloorLoad`), each answer its
 * `LoadResult` (or `{ error }`). The first message sent is `{ ready: true }` once the worker runs.
 */
import { randomUUID } from 'node:crypto';
import { Client } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { closedLoopCalls, pacedCalls } from '../callLoad';
import type { LoadResult } from '../loadResult';
import { EmptyWorkflow } from './workflows';

export type FloorLoad =
  | { kind: 'rate'; rate: number; durationS: number }
  | { kind: 'saturation'; connections: number; durationS: number };

export type FloorMessage = { ready: true } | { result: LoadResult } | { error: string };

const taskQueue = 'bench-floor';

async function main() {
  const address = process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
  const send = (message: FloorMessage) => process.send?.(message);
  // The parent stops this process with SIGTERM: the SDK's default handlers shut the worker down.
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const connection = await NativeConnection.connect({ address });
  const worker = await Worker.create({
    connection,
    namespace: 'default',
    taskQueue,
    workflowsPath: require.resolve('./workflows'),
    // Every run of the closed loop must find a free slot, or eager start falls back to matching.
    maxConcurrentWorkflowTaskExecutions: 256,
    maxCachedWorkflows: 1024,
  });
  const client = new Client({ connection, namespace: 'default' });
  const oneRun = async () => {
    await client.workflow.execute(EmptyWorkflow, {
      taskQueue,
      workflowId: `bench-floor-${randomUUID()}`,
      requestEagerStart: true,
    });
    return 200;
  };

  process.on('message', (load: FloorLoad) => {
    const run =
      load.kind === 'rate'
        ? pacedCalls(oneRun, load.rate, load.durationS)
        : closedLoopCalls(oneRun, load.connections, load.durationS);
    run.then(
      (result) => send({ result }),
      (err: unknown) => send({ error: String(err) }),
    );
  });
  process.on('disconnect', () => worker.shutdown());
  const running = worker.run();
  send({ ready: true });
  await running;
  await connection.close();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
