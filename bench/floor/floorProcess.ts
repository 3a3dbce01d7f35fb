/**
 * The Temporal floor of the benchmark (bench/README.md): a client and a worker sharing one `NativeConnection`
 * in this process, on the dev server the product uses, start a workflow and wait for its result. The floor is
 * the empty workflow started eagerly: what a run costs here is what Temporal itself costs, with no product code
 * around it. The rungs of the ladder (bench/floor/ladder.ts) add, one at a time, the Temporal features the
 * product uses.
 *
 * Run by bench/runBench.ts with an IPC channel: each message is a load (`FloorLoad`), each answer its
 * `LoadResult` (or `{ error }`). The first message sent is `{ ready: true }` once the workers run.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Client } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import * as sa from '../../domain/searchAttributes';
import { encryptedDataConverter } from '../../lib/codec/loadCodec';
import { closedLoopCalls, pacedCalls } from '../callLoad';
import type { LoadResult } from '../loadResult';
import { ladderActivities } from './activities';
import { rungs } from './ladder';
import { EmptyWorkflow, LadderWorkflow } from './workflows';

export type FloorLoad = (
  | { kind: 'rate'; rate: number; durationS: number }
  | { kind: 'saturation'; connections: number; durationS: number }
) & {
  /** The ladder's rung by name; absent: the floor itself (the first rung). */
  rung?: string;
};

export type FloorMessage = { ready: true } | { result: LoadResult } | { error: string };

const taskQueue = 'bench-floor';
const codecTaskQueue = 'bench-floor-codec';

async function main() {
  const address = process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
  const send = (message: FloorMessage) => process.send?.(message);
  // The parent stops this process with SIGTERM: the SDK's default handlers shut the workers down.
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const connection = await NativeConnection.connect({ address });
  const codec = encryptedDataConverter({
    current: 'bench',
    keys: new Map([['bench', randomBytes(32)]]),
  });
  const workerOptions = {
    connection,
    namespace: 'default',
    workflowsPath: require.resolve('./workflows'),
    activities: ladderActivities,
    // Every run of the closed loop must find a free slot, or eager start falls back to matching.
    maxConcurrentWorkflowTaskExecutions: 256,
    maxCachedWorkflows: 1024,
  };
  const workers = [await Worker.create({ ...workerOptions, taskQueue })];
  const running = [workers[0]!.run()];
  // The codec's worker starts with the first rung that needs it, so that the floor itself is one worker, as the
  // product's process is (its memory is the floor the product's is compared with).
  let codecWorker: Promise<void> | undefined;
  const startCodecWorker = () =>
    (codecWorker ??= Worker.create({
      ...workerOptions,
      taskQueue: codecTaskQueue,
      dataConverter: codec,
    }).then((worker) => {
      workers.push(worker);
      running.push(worker.run());
    }));
  const plain = new Client({ connection, namespace: 'default' });
  const encrypted = new Client({ connection, namespace: 'default', dataConverter: codec });

  const oneRun = async (rungName: string | undefined) => {
    const rung = rungs.find((r) => r.name === (rungName ?? rungs[0]?.name));
    if (!rung) throw new Error(`no rung named ${rungName}`);
    if (rung.codec) await startCodecWorker();
    const client = rung.codec ? encrypted : plain;
    return async () => {
      const options = {
        taskQueue: rung.codec ? codecTaskQueue : taskQueue,
        workflowId: `bench-floor-${randomUUID()}`,
        requestEagerStart: rung.eager,
        ...(rung.searchAttributeAtStart && {
          typedSearchAttributes: [{ key: sa.RequestId, value: randomUUID() }],
        }),
      };
      await (rung.shape
        ? client.workflow.execute(LadderWorkflow, { ...options, args: [rung.shape] })
        : client.workflow.execute(EmptyWorkflow, options));
      return 200;
    };
  };

  process.on('message', (load: FloorLoad) => {
    const run = oneRun(load.rung).then((call) =>
      load.kind === 'rate'
        ? pacedCalls(call, load.rate, load.durationS)
        : closedLoopCalls(call, load.connections, load.durationS),
    );
    run.then(
      (result) => send({ result }),
      (err: unknown) => send({ error: String(err) }),
    );
  });
  process.on('disconnect', () => workers.forEach((w) => w.shutdown()));
  send({ ready: true });
  // The codec's worker may join while the first runs: wait for every worker started so far to stop.
  for (let n = 0; n < running.length; n++) await running[n];
  await connection.close();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
