import { type NativeConnection, Runtime, makeTelemetryFilterString, type Worker } from '@temporalio/worker';
import { createFasClient, type ActivityDeps } from '../activities';
import { encryptedDataConverter } from '../lib/codec/loadCodec';
import type { Logger } from '../lib/logger';
import { type CodecKeyRing, loadCodecKeys } from '../lib/secrets/codecKeys';
import { loadSecret } from '../lib/secrets/secret';
import { loadServiceCredentials, type ServiceCredentials } from '../lib/serviceAuth';
import { temporalLogger } from '../lib/temporalLogger';
import { legacyEmbeddedStore, openStore } from '../store/openStore';
import { seedDemoAccounts } from '../store/seed';
import type { WorkerConfig } from './config';
import { createWorker } from './createWorker';

/**
 * The process-wide Temporal runtime: core logs through pino (warnings and up), Prometheus metrics when an address
 * is set. `shutdownSignals: []` leaves SIGINT/SIGTERM to a host process that must stop other things first (the
 * API drains its requests before its worker stops).
 */
export function installRuntime(config: WorkerConfig, log: Logger, shutdownSignals?: NodeJS.Signals[]): void {
  Runtime.install({
    logger: temporalLogger(log),
    ...(shutdownSignals && { shutdownSignals }),
    telemetryOptions: {
      logging: { filter: makeTelemetryFilterString({ core: 'WARN' }), forward: {} },
      ...(config.WORKER_METRICS_ADDRESS && {
        metrics: { prometheus: { bindAddress: config.WORKER_METRICS_ADDRESS } },
      }),
    },
  });
}

/** What the worker needs from outside: a deployment missing one stops here, before anything else starts. */
export interface WorkerSecrets {
  codecKeys: CodecKeyRing;
  fingerprintSecret: Buffer;
  fasCredentials: ServiceCredentials;
}

export async function loadWorkerSecrets(config: WorkerConfig): Promise<WorkerSecrets> {
  return {
    codecKeys: await loadCodecKeys(config.codecKeys),
    fingerprintSecret: await loadSecret(config.fingerprintSecret),
    fasCredentials: await loadServiceCredentials('orchestrator', 'federated-auth', config.fasAuthSecret),
  };
}

export interface StartedWorker {
  worker: Worker;
  /** Releases what the worker used (FAS connections, the store); call after `worker.run()` has resolved. */
  close: () => Promise<void>;
}

/** What the activities need, opened as configured, and how to release it. */
export interface OpenedActivityDeps {
  deps: ActivityDeps;
  /** Releases the FAS connections and the store, in reverse order of opening. */
  close: () => Promise<void>;
}

/**
 * Everything the activities need: the account store (the SQLite file under DATA_DIR, or DATABASE_URL), the demo
 * accounts, the FAS client with its service credential and the fingerprint
 * secret. Used by the worker and by the benchmark's direct baseline, which runs the same activities without
 * Temporal.
 */
export async function openActivityDeps(
  config: WorkerConfig,
  log: Logger,
  secrets: Pick<WorkerSecrets, 'fingerprintSecret' | 'fasCredentials'>,
): Promise<OpenedActivityDeps> {
  const { fingerprintSecret, fasCredentials } = secrets;
  const store = await openStore({ dataDir: config.DATA_DIR, databaseUrl: config.DATABASE_URL });
  const legacy = config.DATABASE_URL ? null : legacyEmbeddedStore(config.DATA_DIR);
  if (legacy) {
    log.warn(
      { folder: legacy },
      'found the embedded store of an earlier release (PGlite), which is no longer read: its accounts are not in ' +
        'the SQLite store; recreate them with npm run admin, then delete the folder',
    );
  }
  const closers: (() => Promise<void>)[] = [() => store.close()];
  const close = async () => {
    for (const closeOne of [...closers].reverse()) await closeOne();
  };
  try {
    if (config.SEED_DEMO_ACCOUNTS) {
      const seeded = await seedDemoAccounts(store);
      if (seeded.created.length > 0) log.info('seeded the demo accounts');
    }
    const fas = createFasClient({
      baseUrl: config.FAS_URL,
      timeoutMs: config.FAS_TIMEOUT_MS,
      credentials: fasCredentials,
    });
    closers.push(() => fas.close());
    return { deps: { store, fas, fingerprintSecret }, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/**
 * The worker of the token workflows with everything its activities need (`openActivityDeps`). Used by
 * `worker/main.ts` and by an API that runs its own worker (`API_RUN_WORKER`), which loads the secrets first.
 */
export async function startWorker(
  config: WorkerConfig,
  log: Logger,
  connection: NativeConnection,
  secrets?: WorkerSecrets,
): Promise<StartedWorker> {
  const loaded = secrets ?? (await loadWorkerSecrets(config));
  const { deps, close } = await openActivityDeps(config, log, loaded);
  try {
    const worker = await createWorker({
      connection,
      namespace: config.TEMPORAL_NAMESPACE,
      dataConverter: encryptedDataConverter(loaded.codecKeys),
      deps,
    });
    log.info({ address: config.TEMPORAL_ADDRESS, taskQueue: worker.options.taskQueue }, 'worker started');
    return { worker, close };
  } catch (err) {
    await close();
    throw err;
  }
}
