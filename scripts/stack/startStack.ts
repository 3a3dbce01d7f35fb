/**
 * Starts the whole product as separate processes: the Temporal dev server (SQLite file, UI), SAS, FAS, the
 * worker, the API and the edge; each process that uses the store opens it itself (the SQLite file under the data
 * folder, or DATABASE_URL). `make start` uses it with the default ports; the end-to-end tests use it with
 * free ports and a temporary data folder. Each Node process is launched as scripts/stack/serviceArgs.ts says.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { temporalCliPath } from '../../lib/temporalBinaries';
import { type StackPorts, webPorts } from './ports';
import { type OutputSink, spawnLogged } from './processes';
import { terminate, waitForHttp, waitForTemporal, waitForWorker } from './readiness';
import { type Build, type ServiceName, serviceArgs } from './serviceArgs';
import { temporalDevServerArgs } from './temporalDevServer';

export interface StackOptions {
  ports: StackPorts;
  dataDir: string;
  /** Where each process's output goes: a line at a time, with the process name. */
  output?: OutputSink;
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
  /**
   * Each process in a process group of its own, so that a terminal's Ctrl-C reaches only the caller, which then
   * stops them last started first with `stop()` (`make start`: the API drains while Temporal still runs). The
   * caller must handle SIGINT and SIGTERM then (and abort `signal` on one during the start), or the processes
   * outlive it; those still running when it exits are killed. Without it (tests), a Ctrl-C reaches every
   * process at once.
   */
  ownProcessGroups?: boolean;
  /** Stops the start: every process started so far is stopped, and startStack rejects. */
  signal?: AbortSignal;
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
  /** Every running process by name (fault tests stop one). */
  processes: Map<string, ChildProcess>;
  /**
   * Stops one process with `signal` and starts it again with the same command, then waits until it is ready.
   * `overlap` starts the new one without waiting for the old one to exit (a rolling restart: the old one stops
   * listening at once and drains while the new one comes up).
   */
  restart(name: string, opts?: { signal?: 'SIGTERM' | 'SIGKILL'; overlap?: boolean }): Promise<void>;
}

/** The processes the stack starts, by the names of `processes` (the Node ones are serviceArgs.ts's names). */
type ProcessName = 'temporal' | Exclude<ServiceName, 'temporal' | 'stack' | 'rotate-keys'>;

export async function startStack(opts: StackOptions): Promise<Stack> {
  const { ports, dataDir } = opts;
  await mkdir(join(dataDir, 'temporal'), { recursive: true });
  const temporalAddress = opts.temporalAddress ?? `127.0.0.1:${ports.temporal}`;
  const group = new ProcessGroup(stackEnv(opts, temporalAddress), opts);
  const ready = (name: ProcessName, child: ChildProcess) =>
    waitUntilReady(name, child, ports, temporalAddress);
  const unlessAborted = abortable(opts.signal);

  try {
    if (!opts.temporalAddress) group.launch('temporal', temporalCliPath(), temporalArgs(opts));
    const early = (['sas', 'fas', 'codec'] as const).map((name) => group.node(name));
    await unlessAborted(waitForTemporal(temporalAddress, 60_000));
    const late = [
      ...(opts.separateWorker ? ['worker' as const] : []),
      'api' as const,
      'edge' as const,
      ...(webPorts(ports) ? ['web' as const] : []),
    ].map((name) => group.node(name));
    await unlessAborted(Promise.all([...early, ...late].map(({ name, child }) => ready(name, child))));
  } catch (err) {
    await group.stop();
    throw err;
  }

  return {
    urls: stackUrls(ports, temporalAddress),
    stop: () => group.stop(),
    processes: group.processes,
    restart: async (name, { signal = 'SIGTERM', overlap = false } = {}) => {
      const { stopped, child } = group.restart(name, signal, overlap);
      await Promise.all([stopped, child.then((c) => ready(name as ProcessName, c))]);
    },
  };
}

/** Wraps a wait so that it rejects as soon as `signal` aborts. */
function abortable(signal: AbortSignal | undefined): <T>(wait: Promise<T>) => Promise<T> {
  if (!signal) return (wait) => wait;
  const aborted = new Promise<never>((_resolve, reject) => {
    const fail = () => reject(new Error('stopped while starting'));
    if (signal.aborted) fail();
    else signal.addEventListener('abort', fail, { once: true });
  });
  aborted.catch(() => {}); // rejected later, when nobody waits any more, is no error
  return (wait) => Promise.race([wait, aborted]);
}

/** What every process of the stack reads: where each other one listens, the data folder, the log level. */
function stackEnv(opts: StackOptions, temporalAddress: string): NodeJS.ProcessEnv {
  const { ports } = opts;
  return {
    ...process.env,
    ...opts.env,
    HOST: '127.0.0.1',
    DATA_DIR: resolve(opts.dataDir),
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
}

function temporalArgs({ ports, dataDir }: StackOptions): string[] {
  return temporalDevServerArgs({
    ip: '127.0.0.1',
    port: ports.temporal,
    uiPort: ports.ui,
    dataDir: resolve(dataDir),
    codecEndpoint: `http://localhost:${ports.codec}`,
  });
}

/**
 * Ready means: Temporal answers; the worker polls the token task queue; an HTTP service answers its probe
 * (the API its /readyz, which needs Temporal; the others /healthz; the demo page on both its ports).
 */
function waitUntilReady(
  name: ProcessName,
  child: ChildProcess,
  ports: StackPorts,
  temporalAddress: string,
): Promise<void> {
  if (name === 'temporal') return waitForTemporal(temporalAddress, 60_000);
  if (name === 'worker') return waitForWorker(child, temporalAddress);
  const probe = name === 'api' ? 'readyz' : 'healthz';
  return Promise.all(
    httpPorts(name, ports).map((port) => waitForHttp(`http://127.0.0.1:${port}/${probe}`, child)),
  ).then(() => undefined);
}

/** The ports an HTTP service of the stack listens on: each is named after its port in StackPorts. */
function httpPorts(name: Exclude<ProcessName, 'temporal' | 'worker'>, ports: StackPorts): number[] {
  if (name === 'web') return webPorts(ports) ?? [];
  return [ports[name]];
}

function stackUrls(ports: StackPorts, temporalAddress: string): Stack['urls'] {
  const local = (port: number | undefined) => `http://127.0.0.1:${port}`;
  return {
    edge: local(ports.edge),
    api: local(ports.api),
    fas: local(ports.fas),
    sas: local(ports.sas),
    ui: `http://localhost:${ports.ui}`,
    temporal: temporalAddress,
    codec: local(ports.codec),
    ...(ports.workerMetrics !== undefined && { workerMetrics: local(ports.workerMetrics) }),
    ...(webPorts(ports) && {
      web: `http://localhost:${ports.web}`,
      webOther: `http://localhost:${ports.webOther}`,
    }),
  };
}

/** The stack's processes: started with one environment, remembered with their commands, stopped in reverse. */
class ProcessGroup {
  readonly processes = new Map<string, ChildProcess>();
  private readonly commands = new Map<string, { command: string; args: string[] }>();
  private readonly started: ChildProcess[] = [];
  private readonly output: OutputSink;

  constructor(
    private readonly env: NodeJS.ProcessEnv,
    private readonly opts: Pick<StackOptions, 'envFor' | 'output' | 'build' | 'ownProcessGroups'>,
  ) {
    this.output = opts.output ?? ((name, line) => process.stdout.write(`[${name}] ${line}\n`));
    // Out of the caller's process group, nothing else ends them: they end with the caller at the latest.
    if (opts.ownProcessGroups) process.once('exit', () => this.killAll());
  }

  launch<N extends string>(name: N, command: string, args: string[]): { name: N; child: ChildProcess } {
    this.commands.set(name, { command, args });
    const child = spawnLogged(
      name,
      command,
      args,
      { ...this.env, ...this.opts.envFor?.[name] },
      this.output,
      {
        ownProcessGroup: this.opts.ownProcessGroups,
      },
    );
    this.started.push(child);
    this.processes.set(name, child);
    return { name, child };
  }

  /** A Node service of the product, from the stack's build. */
  node<N extends ProcessName & ServiceName>(name: N): { name: N; child: ChildProcess } {
    return this.launch(name, process.execPath, serviceArgs(name, this.opts.build ?? 'tsx'));
  }

  /**
   * Stops `name` (SIGTERM with a grace period, or SIGKILL) and starts it again with its command: at once with
   * `overlap`, else once the old one has exited.
   */
  restart(
    name: string,
    signal: 'SIGTERM' | 'SIGKILL',
    overlap: boolean,
  ): { stopped: Promise<void>; child: Promise<ChildProcess> } {
    const spec = this.commands.get(name);
    const old = this.processes.get(name);
    if (!spec || !old) throw new Error(`no process named ${name}`);
    const stopped = signal === 'SIGKILL' ? kill(old) : terminate(old);
    const child = (overlap ? Promise.resolve() : stopped).then(
      () => this.launch(name, spec.command, spec.args).child,
    );
    return { stopped, child };
  }

  async stop(): Promise<void> {
    for (const child of [...this.started].reverse()) await terminate(child);
  }

  private killAll(): void {
    for (const child of this.started)
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

/** SIGKILL, resolved once the process has exited. */
function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGKILL');
  return exited;
}
