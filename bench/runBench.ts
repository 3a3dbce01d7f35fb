import { type ChildProcess, fork, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { freePorts, randomPorts, startStack, terminate, waitForHttp, type Stack } from '../scripts/stack';
import { widgetHeaders } from '../test/helpers/widget';
import { autocannonLoad } from './autocannonLoad';
import type { BenchBuild, BenchKey, BenchOptions, BenchPath } from './benchOptions';
import type { FloorLoad, FloorMessage } from './floor/floorProcess';
import { rungs } from './floor/ladder';
import type { LoadResult, TargetRequest } from './loadResult';
import { pacedLoad } from './pacedLoad';
import { latencyPlotSvg } from './plot';
import { lifetimePeakRssMb, ProcessMonitor, readProcess } from './processMonitor';
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
type HttpPath = Exclude<BenchPath, 'floor' | 'ladder'>;
const deploymentKeys: Record<BenchKey, string> = { open: 'dk_demo_open', secure: 'dk_demo_secure' };

/** The token request as the shipped widget sends it: form-encoded, with its headers and the page's origin. */
function widgetRequest(edgeUrl: string, key: BenchKey): TargetRequest {
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
): Promise<{ report: BenchReport; file: string; plot: string }> {
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
    RATE_LIMIT_NETWORK_POINTS: '0',
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
    if (options.build === 'dist' || options.rssBuilds.includes('dist')) {
      progress('building dist/ (npm run build)…');
      await buildDist();
    }
    progress('starting the stack…');
    stack = await startStack({
      build: options.build,
      ports,
      dataDir,
      output,
      logLevel: options.logLevel,
      env,
      separateWorker: options.separateWorker,
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
    const floor =
      options.paths.includes('floor') || options.paths.includes('ladder')
        ? await startFloor(stack.urls.temporal, output)
        : undefined;
    if (floor) direct.push(floor.child);
    await Promise.all([
      waitForHttp(`http://127.0.0.1:${directApiPort}/readyz`, directApi),
      waitForHttp(`http://127.0.0.1:${directEdgePort}/healthz`, directEdge),
    ]);

    const edges: Record<HttpPath, string> = {
      orchestrated: stack.urls.edge,
      direct: `http://127.0.0.1:${directEdgePort}`,
    };
    const httpPaths = options.paths.filter((p): p is HttpPath => p !== 'floor' && p !== 'ladder');
    const pids = new Map<string, number>();
    for (const [name, child] of stack.processes) if (child.pid) pids.set(name, child.pid);
    if (directApi.pid) pids.set('direct-api', directApi.pid);
    if (directEdge.pid) pids.set('direct-edge', directEdge.pid);
    if (floor?.child.pid) pids.set('floor', floor.child.pid);
    // The floor's CPU per run counts the dev server and the floor's own process, not the idle services.
    const floorPids = new Map([...pids].filter(([name]) => name === 'temporal' || name === 'floor'));

    for (const path of httpPaths) {
      for (const key of options.keys) await checkAnswer(widgetRequest(edges[path], key), path, key);
    }
    if (options.warmupS > 0) {
      progress(`warming up ${options.warmupS} s per path and key…`);
      for (const path of httpPaths) {
        for (const key of options.keys) {
          await pacedLoad({ target: widgetRequest(edges[path], key), rate: 50, durationS: options.warmupS });
        }
      }
      await floor?.drive({ kind: 'rate', rate: 50 }, options.warmupS);
    }

    const loads: LoadShape[] = [
      ...options.rates.map((rate): LoadShape => ({ kind: 'rate', rate })),
      ...(options.connections > 0 ? [{ kind: 'saturation', connections: options.connections } as const] : []),
    ];
    const scenarios: ScenarioResult[] = [];
    const measure = async (
      path: BenchPath,
      key: BenchKey | null,
      load: LoadShape,
      monitored: ReadonlyMap<string, number>,
      run: () => Promise<LoadResult>,
      rung?: string,
    ) => {
      progress(
        `${path}${key ? ` ${key}` : ''}${rung ? ` ${rung}` : ''} ${loadLabel(load)} for ${options.durationS} s…`,
      );
      const monitor = new ProcessMonitor(monitored);
      monitor.start();
      const result = await run();
      const processes = monitor.stop();
      const serviceCpuMs = Object.entries(processes)
        .filter(([name]) => name !== 'loadgen')
        .reduce((sum, [, u]) => sum + u.cpuMs, 0);
      scenarios.push({
        path,
        ...(rung !== undefined && { rung }),
        key,
        load,
        result,
        processes,
        cpuMsPerIssuance: result.ok > 0 ? Math.round((serviceCpuMs / result.ok) * 100) / 100 : NaN,
      });
      await sleep(1000); // let the tail of the previous scenario drain
    };
    // Paths alternate within each load, so that noise from other work on the machine hits all alike. The floor
    // has no deployment key: it runs with the first key's loads, and once more one run at a time.
    for (const [k, key] of options.keys.entries()) {
      for (const load of loads) {
        for (const path of options.paths) {
          if (path === 'ladder') continue;
          if (path === 'floor') {
            if (k === 0 && floor)
              await measure(path, null, load, floorPids, () => floor.drive(load, options.durationS));
          } else {
            const target = widgetRequest(edges[path], key);
            await measure(path, key, load, pids, () => drive(target, load, options));
          }
        }
      }
    }
    // One request at a time (the unloaded latency), on the first key: each HTTP path, then the floor.
    const serial: LoadShape = { kind: 'saturation', connections: 1 };
    const firstKey = options.keys[0];
    if (firstKey) {
      for (const path of httpPaths) {
        const target = widgetRequest(edges[path], firstKey);
        await measure(path, firstKey, serial, pids, () => drive(target, serial, options));
      }
    }
    if (floor && options.paths.includes('floor')) {
      await measure('floor', null, serial, floorPids, () => floor.drive(serial, options.durationS));
    }
    if (floor && options.paths.includes('ladder')) {
      const loaded: LoadShape = { kind: 'saturation', connections: options.connections || 20 };
      for (const { name } of rungs) {
        for (const load of [loaded, serial]) {
          await measure(
            'ladder',
            null,
            load,
            floorPids,
            () => floor.drive(load, options.durationS, name),
            name,
          );
        }
      }
    }

    // What every process holds now, after all the scenarios' load (the memory targets' "after load").
    const rssAfterLoadMb = Object.fromEntries(
      [...pids].map(([name, pid]) => {
        const sample = readProcess(pid);
        return [name, sample ? Math.round(sample.rssKb / 102.4) / 10 : null];
      }),
    );
    const peakRssByBuild: BenchReport['peakRssByBuild'] = {};
    const productProcesses = [...stack.processes.keys()];
    const lifetime = (monitored: Iterable<[string, number]>) =>
      Object.fromEntries([...monitored].map(([name, pid]) => [name, lifetimePeakRssMb(pid)]));
    peakRssByBuild[options.build] = lifetime([...pids].filter(([name]) => productProcesses.includes(name)));
    for (const build of options.rssBuilds.filter((b) => b !== options.build)) {
      progress(
        `peak RSS of the ${build} build: saturation c=${options.connections || 20} for ${options.durationS} s…`,
      );
      peakRssByBuild[build] = await buildRss(build, options, env, output);
    }

    const report: BenchReport = {
      startedAt: new Date().toISOString(),
      command: ['npm run bench --', ...process.argv.slice(2)].join(' '),
      revision,
      machine,
      options,
      scenarios,
      ratios: computeRatios(scenarios),
      lifetimePeakRssMb: lifetime(pids),
      rssAfterLoadMb,
      peakRssByBuild,
    };
    const file = resolve(
      options.out ?? join(root, 'bench', 'results', `bench-${report.startedAt.replace(/[:.]/g, '-')}.json`),
    );
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, JSON.stringify(report, null, 2) + '\n');
    const plot = file.replace(/\.json$/, '') + '.svg';
    await writeFile(plot, latencyPlotSvg(report));
    return { report, file, plot };
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
async function checkAnswer(target: TargetRequest, path: HttpPath, key: BenchKey): Promise<void> {
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

/** `npm run build`: the production build in dist/, from the tree under test. */
function buildDist(): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'scripts', 'build.ts')], {
      cwd: root,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    child.once('exit', (code) =>
      code === 0 ? resolvePromise() : reject(new Error(`npm run build exited with ${code}`)),
    );
  });
}

/**
 * Peak RSS of every product process in another build: a stack of that build on its own ports and data folder,
 * warmed up, then saturated on the first key; each process's `VmHWM` over its life.
 */
async function buildRss(
  build: BenchBuild,
  options: BenchOptions,
  env: NodeJS.ProcessEnv,
  output: (name: string, line: string) => void,
): Promise<Record<string, number | null>> {
  const dataDir = await mkdtemp(join(tmpdir(), `webchat-bench-${build}-`));
  const stack = await startStack({
    ports: await randomPorts(),
    dataDir,
    output: (name, line) => output(`${build}:${name}`, line),
    logLevel: options.logLevel,
    env,
    separateWorker: options.separateWorker,
    build,
    ...(options.temporalAddress ? { temporalAddress: options.temporalAddress } : {}),
  });
  try {
    const key = options.keys[0] ?? 'open';
    const target = widgetRequest(stack.urls.edge, key);
    await checkAnswer(target, 'orchestrated', key);
    if (options.warmupS > 0) await pacedLoad({ target, rate: 50, durationS: options.warmupS });
    await autocannonLoad({ target, connections: options.connections || 20, durationS: options.durationS });
    return Object.fromEntries(
      [...stack.processes].map(([name, child]) => [name, child.pid ? lifetimePeakRssMb(child.pid) : null]),
    );
  } finally {
    await stack.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

/**
 * Starts bench/floor/floorProcess.ts (an empty workflow, client and worker on one connection) and resolves once
 * its worker runs; `drive` runs one load in it and resolves with what it measured.
 */
async function startFloor(temporalAddress: string, output: (name: string, line: string) => void) {
  const child = fork(join(root, 'bench', 'floor', 'floorProcess.ts'), [], {
    cwd: root,
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, TEMPORAL_ADDRESS: temporalAddress },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  for (const s of [child.stdout!, child.stderr!])
    createInterface({ input: s }).on('line', (l) => output('floor', l));
  const next = () =>
    new Promise<FloorMessage>((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`the floor process exited with code ${code}`));
      child.once('exit', onExit);
      child.once('message', (message: FloorMessage) => {
        child.off('exit', onExit);
        resolve(message);
      });
    });
  const ready = await next();
  if (!('ready' in ready)) throw new Error(`the floor process did not start: ${JSON.stringify(ready)}`);
  return {
    child,
    async drive(load: LoadShape, durationS: number, rung?: string): Promise<LoadResult> {
      const message: FloorLoad = {
        ...(load.kind === 'rate'
          ? { kind: 'rate', rate: load.rate, durationS }
          : { kind: 'saturation', connections: load.connections, durationS }),
        ...(rung !== undefined && { rung }),
      };
      const answer = next();
      child.send(message);
      const reply = await answer;
      if ('result' in reply) return reply.result;
      throw new Error(`the floor failed: ${'error' in reply ? reply.error : 'no result'}`);
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
