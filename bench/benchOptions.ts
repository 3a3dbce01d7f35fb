import { parseArgs } from 'node:util';

export const benchPaths = ['orchestrated', 'direct', 'floor', 'ladder'] as const;
export type BenchPath = (typeof benchPaths)[number];
export const benchKeys = ['open', 'secure'] as const;
export type BenchKey = (typeof benchKeys)[number];
export const benchBuilds = ['tsx', 'dist'] as const;
export type BenchBuild = (typeof benchBuilds)[number];

export interface BenchOptions {
  /** Seconds per measured scenario. */
  durationS: number;
  /** Offered rates (requests/s) of the open-loop scenarios; empty skips them. */
  rates: number[];
  /** Connections of the saturation scenario; 0 skips it. */
  connections: number;
  /** Seconds of unmeasured load on each path before the first scenario (JIT, caches, connection pools). */
  warmupS: number;
  keys: BenchKey[];
  paths: BenchPath[];
  /** Open-loop driver: evenly paced requests, or autocannon's `overallRate` (bursty, for comparison). */
  rateDriver: 'paced' | 'autocannon';
  /**
   * Log level of every service: `info` as in production (each API and edge request logs a line), or more
   * verbose.
   */
  logLevel: string;
  /** Write V8 CPU profiles of every Node service into this folder. */
  cpuProfDir: string | null;
  /** A Temporal server already running (e.g. a dev server with other flags, or one on PostgreSQL). */
  temporalAddress: string | null;
  /** The orchestrated path with a worker process of its own (API_RUN_WORKER=false), runs started through matching. */
  separateWorker: boolean;
  /** How the product's services run: the production build (as `make start`), or TypeScript through tsx (`make dev`). */
  build: BenchBuild;
  /**
   * The builds whose peak RSS per process is reported: the main one from its run, any other from a stack of that
   * build started after the scenarios and saturated for `durationS` on the first key.
   */
  rssBuilds: BenchBuild[];
  /** Where the JSON report goes; a timestamped file under bench/results/ by default. */
  out: string | null;
  smoke: boolean;
}

const usage = `npm run bench -- [options]   (each option also reads BENCH_<NAME>, e.g. BENCH_DURATION=10)
  --duration <s>        seconds per scenario (30)
  --rates <r,r>         offered rates of the open-loop scenarios, req/s (50,100); "" skips them
  --connections <n>     connections of the saturation scenario (20); 0 skips it
  --warmup <s>          unmeasured load per path before measuring (5)
  --keys <k,k>          open,secure
  --paths <p,p>         orchestrated,direct,floor,ladder (floor: an empty workflow, Temporal's own cost;
                        ladder: the floor plus one Temporal feature of the product per rung)
  --rate-driver <d>     paced (even intervals, open loop) | autocannon (overallRate)
  --log-level <l>       log level of every service: info (default), debug or trace
  --cpu-prof <dir>      write V8 CPU profiles of the Node services into <dir>
  --temporal-address <host:port>  use this Temporal server instead of starting the dev server
  --separate-worker     orchestrated path: a worker process of its own, runs started through matching
                        (default: the worker runs in the API process and every run starts eagerly)
  --build <b>           how the product runs: dist (npm run build, as make start; default) | tsx (TypeScript, as make dev)
  --rss-builds <b,b>    builds whose peak RSS per process is reported (tsx,dist; --smoke: the --build one)
  --out <file>          JSON report path (bench/results/bench-<time>.json)
  --smoke               a few seconds at a low rate: proves the harness runs`;

export function parseBenchOptions(argv: string[], env: NodeJS.ProcessEnv = process.env): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      duration: { type: 'string' },
      rates: { type: 'string' },
      connections: { type: 'string' },
      warmup: { type: 'string' },
      keys: { type: 'string' },
      paths: { type: 'string' },
      'rate-driver': { type: 'string' },
      'log-level': { type: 'string' },
      'cpu-prof': { type: 'string' },
      out: { type: 'string' },
      'temporal-address': { type: 'string' },
      smoke: { type: 'boolean' },
      'separate-worker': { type: 'boolean' },
      build: { type: 'string' },
      'rss-builds': { type: 'string' },
      help: { type: 'boolean' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(usage);
    process.exit(0);
  }
  const pick = (name: keyof typeof values, envName: string): string | undefined => {
    const given = values[name];
    return typeof given === 'string' ? given : env[`BENCH_${envName}`];
  };
  const smoke = values.smoke === true || env.BENCH_SMOKE === '1';

  const number = (name: keyof typeof values, envName: string, fallback: number, min: number) => {
    const raw = pick(name, envName);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < min) throw new Error(`--${name} must be a number >= ${min}, got "${raw}"`);
    return n;
  };
  const list = <T extends string>(
    name: keyof typeof values,
    envName: string,
    allowed: readonly T[],
    fallback: readonly T[] = allowed,
  ): T[] => {
    const raw = pick(name, envName);
    if (raw === undefined) return [...fallback];
    const items = raw.split(',').map((s) => s.trim());
    for (const item of items) {
      if (!allowed.includes(item as T))
        throw new Error(`--${name}: "${item}" is not one of ${allowed.join(', ')}`);
    }
    return items as T[];
  };
  const ratesRaw = pick('rates', 'RATES');
  const rates =
    ratesRaw === undefined
      ? smoke
        ? [20]
        : [50, 100]
      : ratesRaw
          .split(',')
          .filter((s) => s.trim() !== '')
          .map((s) => {
            const n = Number(s);
            if (!Number.isFinite(n) || n <= 0) throw new Error(`--rates: "${s}" is not a positive number`);
            return n;
          });
  const rateDriver = pick('rate-driver', 'RATE_DRIVER') ?? 'paced';
  if (rateDriver !== 'paced' && rateDriver !== 'autocannon') {
    throw new Error(`--rate-driver must be paced or autocannon, got "${rateDriver}"`);
  }

  const logLevel = pick('log-level', 'LOG_LEVEL') ?? 'info';
  if (!['info', 'debug', 'trace'].includes(logLevel)) {
    throw new Error(
      `--log-level must be info, debug or trace (the stack waits for an info line), got "${logLevel}"`,
    );
  }

  const build = pick('build', 'BUILD') ?? 'dist';
  if (!benchBuilds.includes(build as BenchBuild))
    throw new Error(`--build must be tsx or dist, got "${build}"`);
  const rssBuilds = list(
    'rss-builds',
    'RSS_BUILDS',
    benchBuilds,
    smoke ? [build as BenchBuild] : benchBuilds,
  );

  return {
    build: build as BenchBuild,
    rssBuilds,
    durationS: number('duration', 'DURATION', smoke ? 2 : 30, 1),
    rates,
    connections: number('connections', 'CONNECTIONS', smoke ? 4 : 20, 0),
    warmupS: number('warmup', 'WARMUP', smoke ? 1 : 5, 0),
    keys: list('keys', 'KEYS', benchKeys),
    paths: list('paths', 'PATHS', benchPaths),
    rateDriver,
    logLevel,
    cpuProfDir: pick('cpu-prof', 'CPU_PROF') ?? null,
    temporalAddress: pick('temporal-address', 'TEMPORAL_ADDRESS') ?? null,
    separateWorker: values['separate-worker'] === true || env.BENCH_SEPARATE_WORKER === '1',
    out: pick('out', 'OUT') ?? null,
    smoke,
  };
}
