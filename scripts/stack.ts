/**
 * Starts the whole product as separate processes: the Temporal dev server (SQLite file, UI), SAS, FAS, the
 * worker, the API and the edge. `make start` uses it with the default ports; the end-to-end tests use it with
 * free ports and a temporary data folder.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { Connection } from '@temporalio/client';
import { devServerSearchAttributeArgs } from '../domain/searchAttributes';
import { temporalCliPath } from '../lib/temporalBinaries';

const root = resolve(__dirname, '..');

export interface StackPorts {
  edge: number;
  api: number;
  fas: number;
  sas: number;
  temporal: number;
  ui: number;
  codec: number;
  /** The worker's Prometheus endpoint (Temporal runtime metrics); without it the worker serves none. */
  workerMetrics?: number;
  /**
   * The demo page (web/): `web` serves it on an origin `dk_demo_secure` allows (http://localhost:8081), `webOther`
   * on one no demo account allows. Without both, the page is not started.
   */
  web?: number;
  webOther?: number;
}

export const defaultPorts: StackPorts = {
  edge: 8080,
  api: 3000,
  fas: 3001,
  sas: 3002,
  temporal: 7233,
  ui: 8233,
  codec: 8888,
  workerMetrics: 9464,
  web: 8081,
  webOther: 8082,
};

/**
 * Free ports for every service, for tests and benchmarks that must not collide with `make start`. The demo page
 * is left out: its allowed origin is a fixed port, so the browser tests choose its ports themselves.
 */
export async function randomPorts(): Promise<StackPorts> {
  const keys = (Object.keys(defaultPorts) as (keyof StackPorts)[]).filter(
    (k) => k !== 'web' && k !== 'webOther',
  );
  const ports = await freePorts(keys.length);
  return Object.fromEntries(keys.map((k, i) => [k, ports[i]!])) as unknown as StackPorts;
}

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
   * Run the worker inside the API process (`API_RUN_WORKER`, eager workflow start) instead of as a process of
   * its own: the latency configuration the benchmark measures beside the default one.
   */
  workerInApi?: boolean;
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
    API_RUN_WORKER: String(opts.workerInApi ?? false),
  };

  const commands = new Map<string, { command: string; args: string[] }>();
  const launch = (name: string, command: string, args: string[]) => {
    commands.set(name, { command, args });
    const child = spawn(command, args, {
      cwd: root,
      env: { ...env, ...opts.envFor?.[name] },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on('line', (line) => output(name, line));
    }
    started.push({ name, child });
    processes.set(name, child);
    return child;
  };
  const node = (name: string, entry: string) => launch(name, process.execPath, ['--import', 'tsx', entry]);

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
          ? waitForWorker(child)
          : waitForHttp(readyUrl(name), child);
    await Promise.all([ready, stopped]);
  };

  const stop = async () => {
    for (const { child } of started.reverse()) await terminate(child);
  };

  try {
    if (!opts.temporalAddress) {
      launch('temporal', temporalCliPath(), [
        'server',
        'start-dev',
        '--ip',
        '127.0.0.1',
        '--port',
        String(ports.temporal),
        '--ui-port',
        String(ports.ui),
        '--namespace',
        'default',
        '--db-filename',
        join(resolve(dataDir), 'temporal', 'dev.db'),
        '--log-level',
        'warn',
        // WAL lets readers and the writer proceed together; NORMAL syncs at checkpoints, not every commit.
        // Safe against a crash of the dev server (not of the machine): measured 2.4x the default's throughput.
        '--sqlite-pragma',
        'journal_mode=wal',
        '--sqlite-pragma',
        'synchronous=normal',
        // A worker beside the client (API_RUN_WORKER) gets a run's first task with the start. Eager activity
        // dispatch (a worker gets the activity task its own workflow task schedules) only matters for regular
        // activities, which the token workflows no longer use; it stays on for any that are added.
        '--dynamic-config-value',
        'system.enableEagerWorkflowStart=true',
        '--dynamic-config-value',
        'system.enableActivityEagerExecution=true',
        // The UI decrypts payloads through our codec server, in the operator's browser.
        '--ui-codec-endpoint',
        `http://localhost:${ports.codec}`,
        ...devServerSearchAttributeArgs,
      ]);
    }
    const sas = node('sas', 'services/scoped-auth/main.ts');
    const fas = node('fas', 'services/federated-auth/main.ts');
    const codec = node('codec', 'services/codec-server/main.ts');
    await waitForTemporal(temporalAddress, 60_000);
    const worker = opts.workerInApi ? undefined : node('worker', 'worker/main.ts');
    const api = node('api', 'api/main.ts');
    const edge = node('edge', 'edge/main.ts');
    const pagePorts = webPorts(ports);
    const web = pagePorts && node('web', 'web/main.ts');
    await Promise.all([
      waitForHttp(`http://127.0.0.1:${ports.sas}/healthz`, sas),
      waitForHttp(`http://127.0.0.1:${ports.fas}/healthz`, fas),
      waitForHttp(`http://127.0.0.1:${ports.codec}/healthz`, codec),
      waitForHttp(`http://127.0.0.1:${ports.api}/readyz`, api),
      waitForHttp(`http://127.0.0.1:${ports.edge}/healthz`, edge),
      ...(worker ? [waitForWorker(worker)] : []),
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

/** Both ports of the demo page, or undefined when it is not to be started. */
function webPorts(ports: StackPorts): [number, number] | undefined {
  return ports.web !== undefined && ports.webOther !== undefined ? [ports.web, ports.webOther] : undefined;
}

/** SIGTERM, then SIGKILL if the process has not exited within the grace period. */
export async function terminate(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

async function waitForTemporal(address: string, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1000 });
      try {
        await connection.workflowService.getSystemInfo({});
        return;
      } finally {
        await connection.close();
      }
    } catch (err) {
      if (Date.now() > until) throw new Error(`Temporal did not answer at ${address}: ${String(err)}`);
      await sleep(250);
    }
  }
}

/** Polls `url` until it answers 2xx; fails early when `child` exits. */
export async function waitForHttp(url: string, child: ChildProcess, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${url}: the process exited with code ${child.exitCode}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (res.ok) return;
    } catch {
      // not up yet
    }
    if (Date.now() > until) throw new Error(`${url} did not become ready`);
    await sleep(200);
  }
}

function waitForWorker(child: ChildProcess, timeoutMs = 60_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the worker did not start')), timeoutMs);
    const onLine = (line: string) => {
      if (line.includes('"msg":"worker started"')) {
        clearTimeout(timer);
        resolve();
      }
    };
    createInterface({ input: child.stdout! }).on('line', onLine);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the worker exited with code ${code}`));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const handedOut = new Set<number>();

/**
 * Free TCP ports on 127.0.0.1, for tests that must not collide with a running `make start`. They are picked at
 * random *below* the kernel's ephemeral range: a port the kernel hands out for `listen(0)` can be taken again,
 * before the service binds it, by one of the many outgoing connections a stack opens (EADDRINUSE, seen in the
 * bench smoke test), while outgoing connections never use a port below that range. Ports returned by earlier
 * calls of this process are not returned again; other processes are not coordinated with (`npm test` runs one
 * test file at a time).
 */
export async function freePorts(count: number): Promise<number[]> {
  const ephemeralLow = await readFile('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
    .then((text) => Number(text.trim().split(/\s+/)[0]) || 32768)
    .catch(() => 32768);
  const low = 10_000;
  const high = Math.max(low + 1000, ephemeralLow);
  const held: ReturnType<typeof createServer>[] = [];
  const ports: number[] = [];
  try {
    for (let attempt = 0; ports.length < count; attempt++) {
      if (attempt > count * 50) throw new Error(`no ${count} free ports between ${low} and ${high}`);
      const port = low + Math.floor(Math.random() * (high - low));
      if (handedOut.has(port) || ports.includes(port)) continue;
      const server = createServer();
      const bound = await new Promise<boolean>((resolve) => {
        server.once('error', () => resolve(false));
        server.listen(port, '127.0.0.1', () => resolve(true));
      });
      if (!bound) continue;
      held.push(server);
      ports.push(port);
    }
  } finally {
    await Promise.all(held.map((s) => new Promise((r) => s.close(r))));
  }
  for (const port of ports) handedOut.add(port);
  return ports;
}
