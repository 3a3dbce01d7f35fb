import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { freePorts, randomPorts, startStack, terminate, waitForHttp, type Stack } from '../scripts/stack';
import { widgetHeaders } from '../test/helpers/widget';
import { autocannonLoad } from './autocannonLoad';
import type { BenchKey, BenchOptions, BenchPath } from './benchOptions';
import type { LoadResult, TargetRequest } from './loadResult';
import { pacedLoad } from './pacedLoad';
import { lifetimePeakRssMb, ProcessMonitor } from './processMonitor';
import {
  computeRatios,
  gitRevision,
  loadLabel,
  machineInfo,
  type BenchReport,
  type LoadShape,
  type ScenarioResult,
} from './report';

const root = resolve(__dirname, '..');
const origin = 'http://localhost:8081';
const deploymentKeys: Record<BenchKey, string> = { open: 'dk_demo_open', secure: 'dk_demo_secure' };

/** The token request as the shipped widget sends it: form-encoded, with its headers and the page's origin. */
export function widgetRequest(edgeUrl: string, key: BenchKey): TargetRequest {
  return {
    url: `${edgeUrl}/v2/Webchat/Token`,
    headers: {
      ...widgetHeaders(),
      origin,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ DeploymentKey: deploymentKeys[key] }).toString(),
  };
}

/**
 * Starts the product (Temporal dev server, SAS, FAS, worker, API, edge) on free ports with a temporary data
 * folder, plus the direct baseline (bench/directApi.ts) behind its own edge, drives both through their edge and
 * measures latency, throughput, CPU and memory of every process.
 */
export async function runBench(
  options: BenchOptions,
  progress: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
): Promise<{ report: BenchReport; file: string }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'webchat-bench-'));
  const recent: string[] = [];
  const output = (name: string, line: string) => {
    recent.push(`[${name}] ${line}`);
    if (recent.length > 200) recent.shift();
  };
  // One client IP and two deployment keys send everything: the API's abuse limits would answer 429 to most of
  // it. They are off for both paths.
  const env: NodeJS.ProcessEnv = {
    RATE_LIMIT_IP_POINTS: '0',
    RATE_LIMIT_KEY_POINTS: '0',
    RATE_LIMIT_KEY_TOTAL_POINTS: '0',
  };
  if (options.cpuProfDir) {
    const dir = resolve(options.cpuProfDir);
    await mkdir(dir, { recursive: true });
    // Node refuses --cpu-prof in NODE_OPTIONS: a preloaded module runs the profiler instead.
    env.NODE_OPTIONS =
      `${process.env.NODE_OPTIONS ?? ''} --require ${join(root, 'bench', 'cpuProfiler.js')}`.trim();
    env.BENCH_CPU_PROF_DIR = dir;
  }
  const machine = machineInfo();
  const revision = gitRevision(root);
  const ports = await randomPorts();
  const [directApiPort, directEdgePort] = await freePorts(2);
  let stack: Stack | undefined;
  const direct: ChildProcess[] = [];
  try {
    progress('starting the stack…');
    stack = await startStack({
      ports,
      dataDir,
      output,
      logLevel: options.logLevel,
      env,
      workerInApi: options.workerInApi,
      ...(options.temporalAddress ? { temporalAddress: options.temporalAddress } : {}),
    });
    const launch = (name: string, entry: string, extra: NodeJS.ProcessEnv) => {
      const child = spawn(process.execPath, ['--import', 'tsx', entry], {
        cwd: root,
        env: { ...process.env, ...env, HOST: '127.0.0.1', LOG_LEVEL: options.logLevel, ...extra },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      for (const s of [child.stdout, child.stderr])
        createInterface({ input: s }).on('line', (l) => output(name, l));
      direct.push(child);
      return child;
    };
    const directApi = launch('direct-api', 'bench/directApi.ts', {
      API_PORT: String(directApiPort),
      FAS_URL: stack.urls.fas,
      DATA_DIR: join(dataDir, 'direct'),
      // The worker's secrets: FAS accepts the worker's credential, and both paths bind tokens alike.
      FINGERPRINT_SECRET_FILE: join(dataDir, 'secrets', 'fingerprint.key'),
      FAS_AUTH_SECRET_FILE: join(dataDir, 'secrets', 'fas-auth.key'),
    });
    const directEdge = launch('direct-edge', 'edge/main.ts', {
      EDGE_PORT: String(directEdgePort),
      API_URL: `http://127.0.0.1:${directApiPort}`,
    });
    await Promise.all([
      waitForHttp(`http://127.0.0.1:${directApiPort}/readyz`, directApi),
      waitForHttp(`http://127.0.0.1:${directEdgePort}/healthz`, directEdge),
    ]);

    const edges: Record<BenchPath, string> = {
      orchestrated: stack.urls.edge,
      direct: `http://127.0.0.1:${directEdgePort}`,
    };
    const pids = new Map<string, number>();
    for (const [name, child] of stack.processes) if (child.pid) pids.set(name, child.pid);
    if (directApi.pid) pids.set('direct-api', directApi.pid);
    if (directEdge.pid) pids.set('direct-edge', directEdge.pid);

    for (const path of options.paths) {
      for (const key of options.keys) await checkAnswer(widgetRequest(edges[path], key), path, key);
    }
    if (options.warmupS > 0) {
      progress(`warming up ${options.warmupS} s per path and key…`);
      for (const path of options.paths) {
        for (const key of options.keys) {
          await pacedLoad({ target: widgetRequest(edges[path], key), rate: 50, durationS: options.warmupS });
        }
      }
    }

    const loads: LoadShape[] = [
      ...options.rates.map((rate): LoadShape => ({ kind: 'rate', rate })),
      ...(options.connections > 0 ? [{ kind: 'saturation', connections: options.connections } as const] : []),
    ];
    const scenarios: ScenarioResult[] = [];
    // Paths alternate within each load, so that noise from other work on the machine hits both alike.
    for (const key of options.keys) {
      for (const load of loads) {
        for (const path of options.paths) {
          progress(`${path} ${key} ${loadLabel(load)} for ${options.durationS} s…`);
          const target = widgetRequest(edges[path], key);
          const monitor = new ProcessMonitor(pids);
          monitor.start();
          const result = await drive(target, load, options);
          const processes = monitor.stop();
          const serviceCpuMs = Object.entries(processes)
            .filter(([name]) => name !== 'loadgen')
            .reduce((sum, [, u]) => sum + u.cpuMs, 0);
          scenarios.push({
            path,
            key,
            load,
            result,
            processes,
            cpuMsPerIssuance: result.ok > 0 ? Math.round((serviceCpuMs / result.ok) * 100) / 100 : NaN,
          });
          await sleep(1000); // let the tail of the previous scenario drain
        }
      }
    }

    const report: BenchReport = {
      startedAt: new Date().toISOString(),
      command: ['npm run bench --', ...process.argv.slice(2)].join(' '),
      revision,
      machine,
      options,
      scenarios,
      ratios: computeRatios(scenarios),
      lifetimePeakRssMb: Object.fromEntries([...pids].map(([name, pid]) => [name, lifetimePeakRssMb(pid)])),
    };
    const file = resolve(
      options.out ?? join(root, 'bench', 'results', `bench-${report.startedAt.replace(/[:.]/g, '-')}.json`),
    );
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, JSON.stringify(report, null, 2) + '\n');
    return { report, file };
  } catch (err) {
    progress(`the benchmark failed; the services' last lines:\n${recent.join('\n')}`);
    throw err;
  } finally {
    for (const child of direct.reverse()) await terminate(child);
    await stack?.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

function drive(target: TargetRequest, load: LoadShape, options: BenchOptions): Promise<LoadResult> {
  if (load.kind === 'saturation') {
    return autocannonLoad({ target, connections: load.connections, durationS: options.durationS });
  }
  if (options.rateDriver === 'autocannon') {
    // One connection per request of a second's quota at most, as autocannon caps them itself.
    return autocannonLoad({
      target,
      connections: Math.min(100, load.rate),
      overallRate: load.rate,
      durationS: options.durationS,
    });
  }
  return pacedLoad({ target, rate: load.rate, durationS: options.durationS });
}

/** One request before measuring, so that a path that answers wrongly fails the run instead of timing errors. */
async function checkAnswer(target: TargetRequest, path: BenchPath, key: BenchKey): Promise<void> {
  const res = await fetch(target.url, {
    method: 'POST',
    headers: target.headers,
    body: target.body,
    signal: AbortSignal.timeout(15_000),
  });
  const body = (await res.json()) as { token?: unknown };
  const acao = res.headers.get('access-control-allow-origin');
  const expectedAcao = key === 'secure' ? origin : '*';
  if (res.status !== 200 || typeof body.token !== 'string' || acao !== expectedAcao) {
    throw new Error(
      `${path} ${key}: expected 200 with a token and ACAO ${expectedAcao}, got ${res.status}, ACAO ${acao}`,
    );
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
