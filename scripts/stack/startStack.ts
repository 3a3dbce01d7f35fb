/**
 * Starts the whole product as separate processes: the Temporal dev server (SQLite file, UI), SAS, FAS, the
 * worker, the API and the edge; each process that uses the store opens it itself (the SQLite file under the data
 * folder, or DATABASE_URL). `make start` uses it with the default ports; the end-to-end tests use it with
 * free ports and a temporary data folder.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { temporalCliPath } from '../../lib/temporalBinaries';
import { type StackPorts, webPorts } from './ports';
import { spawnLogged } from './processes';
import { terminate, waitForHttp, waitForTemporal, waitForWorker } from './readiness';
import { type Build, type ServiceName, serviceArgs } from './serviceArgs';
import { temporalDevServerArgs } from './temporalDevServer';

export interface StackOptions {
  ports: StackPorts;
  dataDir: string;
  /** Where each process's output goes: a line at a time, with the process name. */
  output?: (name: string, line: string) => void;
  logLevel?: string;
  /** Extra environment for the services. */
  env?: NodeJS.ProcessEnv;
  /** Use a Temporal server that is already running instead of starting the dev server. */
  temporalAddress?: string;
  /** Extra environment for one process by name (`worker`, `fas`, ...), over everything else (fault tests). */
  envFor?: Record<string, NodeJS.ProcessEnv>;
  /**
   * Run the worker as a process of its own (`API_RUN_WORKER=false`, runs started through matching) instead of
   * inside the API (eager workflow start, the default): the other layout, which the benchmark measures too.
   */
  separateWorker?: boolean;
  /**
   * How the Node services run (scripts/stack/serviceArgs.ts): `dist` (`make start`), `tsx` (the default: tests,
   * the benchmark's other build) or `watch` (`make dev`). Without NODE_ENV=production: this single-box stack
   * creates its secrets on first start, which production refuses to do.
   */
  build?: Build;
}

export interface Stack {
  urls: {
    edge: string;
    api: string;
    fas: string;
    sas: string;
    ui: string;
    temporal: string;
    codec: string;
    /** The worker's Prometheus endpoint, when it serves one. */
    workerMetrics?: string;
    /** The demo page on its allowed and its not-allowed origin, when it was started. */
    web?: string;
    webOther?: string;
  };
  /** Stops every process, last started first. */
  stop(): Promise<void>;
  /** Stops one service and starts it again (fault tests). */
  processes: Map<string, ChildProcess>;
  /**
   * Stops one process with `signal` and starts it again with the same command, then waits until it is ready.
   * `overlap` starts the new one without waiting for the old one to exit (a rolling restart: the old one stops
   * listening at once and drains while the new one comes up).
   */
  restart(name: string, opts?: { signal?: 'SIGTERM' | 'SIGKILL'; overlap?: boolean }): Promise<void>;
}

export async function startStack(opts: StackOptions): Promise<Stack> {
  const { ports, dataDir } = opts;
  const output = opts.output ?? ((name, line) => process.stdout.write(`[${name}] ${line}\n`));
  await mkdir(join(dataDir, 'temporal'), { recursive: true });
  const started: { name: string; child: ChildProcess }[] = [];
  const processes = new Map<string, ChildProcess>();
  const temporalAddress = opts.temporalAddress ?? `127.0.0.1:${ports.temporal}`;

  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...opts.env,
    HOST: '127.0.0.1',
    DATA_DIR: resolve(dataDir),
    LOG_LEVEL: opts.logLevel ?? process.env.LOG_LEVEL ?? 'info',
    TEMPORAL_ADDRESS: temporalAddress,
    SAS_PORT: String(ports.sas),
    FAS_PORT: String(ports.fas),
    API_PORT: String(ports.api),
    EDGE_PORT: String(ports.edge),
    CODEC_PORT: String(ports.codec),
    CODEC_CORS_ORIGINS: `http://localhost:${ports.ui},http://127.0.0.1:${ports.ui}`,
    SAS_URL: `http://127.0.0.1:${ports.sas}`,
    FAS_URL: `http://127.0.0.1:${ports.fas}`,
    API_URL: `http://127.0.0.1:${ports.api}`,
    EDGE_PUBLIC_URL: `http://127.0.0.1:${ports.edge}`,
    WEB_PORT: String(ports.web ?? ''),
    WEB_OTHER_PORT: String(ports.webOther ?? ''),
    WORKER_METRICS_ADDRESS: ports.workerMetrics === undefined ? '' : `127.0.0.1:${ports.workerMetrics}`,
    API_RUN_WORKER: String(!opts.separateWorker),
  };

  const commands = new Map<string, { command: string; args: string[] }>();
  const launch = (name: string, command: string, args: string[]) => {
    commands.set(name, { command, args });
    const child = spawnLogged(name, command, args, { ...env, ...opts.envFor?.[name] }, output);
    started.push({ name, child });
    processes.set(name, child);
    return child;
  };
  const node = (name: ServiceName) => launch(name, process.execPath, serviceArgs(name, opts.build ?? 'tsx'));

  // Every HTTP service is named after its port in StackPorts; the API is ready only once Temporal answers.
  const readyUrl = (name: string) =>
    `http://127.0.0.1:${(ports as unknown as Record<string, number>)[name]}/${name === 'api' ? 'readyz' : 'healthz'}`;

  const restart: Stack['restart'] = async (name, { signal = 'SIGTERM', overlap = false } = {}) => {
    const spec = commands.get(name);
    const old = processes.get(name);
    if (!spec || !old) throw new Error(`no process named ${name}`);
    const exited =
      old.exitCode !== null || old.signalCode !== null
        ? Promise.resolve()
        : new Promise<void>((resolve) => old.once('exit', () => resolve()));
    if (signal === 'SIGKILL') old.kill('SIGKILL');
    const stopped = signal === 'SIGKILL' ? exited : terminate(old);
    if (!overlap) await stopped;
    const child = launch(name, spec.command, spec.args);
    const ready =
      name === 'temporal'
        ? waitForTemporal(temporalAddress, 60_000)
        : name === 'worker'
          ? waitForWorker(child, temporalAddress)
          : waitForHttp(readyUrl(name), child);
    await Promise.all([ready, stopped]);
  };

  const stop = async () => {
    for (const { child } of started.reverse()) await terminate(child);
  };

  try {
    if (!opts.temporalAddress) {
      launch(
        'temporal',
        temporalCliPath(),
        temporalDevServerArgs({
          ip: '127.0.0.1',
          port: ports.temporal,
          uiPort: ports.ui,
          dataDir: resolve(dataDir),
          codecEndpoint: `http://localhost:${ports.codec}`,
        }),
      );
    }
    const sas = node('sas');
    const fas = node('fas');
    const codec = node('codec');
    await waitForTemporal(temporalAddress, 60_000);
    const worker = opts.separateWorker ? node('worker') : undefined;
    const api = node('api');
    const edge = node('edge');
    const pagePorts = webPorts(ports);
    const web = pagePorts && node('web');
    await Promise.all([
      waitForHttp(`http://127.0.0.1:${ports.sas}/healthz`, sas),
      waitForHttp(`http://127.0.0.1:${ports.fas}/healthz`, fas),
      waitForHttp(`http://127.0.0.1:${ports.codec}/healthz`, codec),
      waitForHttp(`http://127.0.0.1:${ports.api}/readyz`, api),
      waitForHttp(`http://127.0.0.1:${ports.edge}/healthz`, edge),
      ...(worker ? [waitForWorker(worker, temporalAddress)] : []),
      ...(web ? pagePorts.map((port) => waitForHttp(`http://127.0.0.1:${port}/healthz`, web)) : []),
    ]);
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    urls: {
      edge: `http://127.0.0.1:${ports.edge}`,
      api: `http://127.0.0.1:${ports.api}`,
      fas: `http://127.0.0.1:${ports.fas}`,
      sas: `http://127.0.0.1:${ports.sas}`,
      ui: `http://localhost:${ports.ui}`,
      temporal: temporalAddress,
      codec: `http://127.0.0.1:${ports.codec}`,
      ...(ports.workerMetrics !== undefined && { workerMetrics: `http://127.0.0.1:${ports.workerMetrics}` }),
      ...(webPorts(ports) && {
        web: `http://localhost:${ports.web}`,
        webOther: `http://localhost:${ports.webOther}`,
      }),
    },
    stop,
    processes,
    restart,
  };
}
