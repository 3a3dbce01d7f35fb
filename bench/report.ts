import { execFileSync } from 'node:child_process';
import { cpus, totalmem, loadavg } from 'node:os';
import type { BenchBuild, BenchKey, BenchOptions, BenchPath } from './benchOptions';
import type { LoadResult } from './loadResult';
import type { ProcessUsage } from './processMonitor';

export type LoadShape = { kind: 'rate'; rate: number } | { kind: 'saturation'; connections: number };

export interface ScenarioResult {
  path: BenchPath;
  /** The ladder's rung (bench/floor/ladder.ts), for path `ladder`. */
  rung?: string;
  /** The deployment key sent; null for the floor, which runs an empty workflow. */
  key: BenchKey | null;
  load: LoadShape;
  result: LoadResult;
  /** Per process, over the scenario; `loadgen` is the benchmark itself. */
  processes: Record<string, ProcessUsage>;
  /**
   * CPU time of every service process (not the load generator) per 2xx answer; for the floor, of the dev server
   * and the floor's own process (client and worker) per completed run.
   */
  cpuMsPerIssuance: number;
}

/** One path's results over another's, in the same load. */
export interface RatioSet {
  p50: number;
  p90: number;
  p99: number;
  throughput: number;
  cpuPerIssuance: number;
}

export interface Ratio {
  key: BenchKey;
  load: string;
  /** orchestrated / direct (null when direct did not run this load). */
  direct: RatioSet | null;
  /** orchestrated / floor (null when the floor did not run this load). */
  floor: RatioSet | null;
}

export interface BenchReport {
  startedAt: string;
  command: string;
  /** `git describe --always --dirty` of the tree that ran: the code under test changes between runs. */
  revision: string;
  machine: { nproc: number; cpuModel: string; memoryGb: number; node: string; loadAverageAtStart: number[] };
  options: BenchOptions;
  scenarios: ScenarioResult[];
  /** orchestrated / direct and orchestrated / floor for each orchestrated scenario. */
  ratios: Ratio[];
  /** `VmHWM` of each service over the whole run, MB. */
  lifetimePeakRssMb: Record<string, number | null>;
  /** RSS of each process after the scenarios, MB. */
  rssAfterLoadMb?: Record<string, number | null>;
  /**
   * `VmHWM` of each product process (MB) by build: the main build's over the run, another's over a stack of
   * that build saturated for the scenario duration (`options.rssBuilds`).
   */
  peakRssByBuild: Partial<Record<BenchBuild, Record<string, number | null>>>;
}

export function machineInfo(): BenchReport['machine'] {
  return {
    nproc: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGb: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    loadAverageAtStart: loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

export function gitRevision(cwd: string): string {
  try {
    return execFileSync('git', ['describe', '--always', '--dirty'], { cwd, encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

export const loadLabel = (load: LoadShape) =>
  load.kind === 'rate' ? `${load.rate}/s` : `sat c=${load.connections}`;

export function computeRatios(scenarios: ScenarioResult[]): Ratio[] {
  const ratio = (a: number, b: number) => (b > 0 ? Math.round((a / b) * 100) / 100 : NaN);
  const over = (o: ScenarioResult, other: ScenarioResult | undefined): RatioSet | null => {
    if (!other) return null;
    const ol = o.result.latencyMs;
    const bl = other.result.latencyMs;
    return {
      p50: ratio(ol.p50, bl.p50),
      p90: ratio(ol.p90, bl.p90),
      p99: ratio(ol.p99, bl.p99),
      throughput: ratio(o.result.throughput, other.result.throughput),
      cpuPerIssuance: ratio(o.cpuMsPerIssuance, other.cpuMsPerIssuance),
    };
  };
  return scenarios
    .filter((s): s is ScenarioResult & { key: BenchKey } => s.path === 'orchestrated' && s.key !== null)
    .map((o) => {
      const sameLoad = (s: ScenarioResult) => loadLabel(s.load) === loadLabel(o.load);
      return {
        key: o.key,
        load: loadLabel(o.load),
        direct: over(
          o,
          scenarios.find((s) => s.path === 'direct' && s.key === o.key && sameLoad(s)),
        ),
        floor: over(
          o,
          scenarios.find((s) => s.path === 'floor' && sameLoad(s)),
        ),
      };
    });
}

/** Plain-text tables: latency and throughput, ratios, then CPU and memory of every process. */
export function formatReport(report: BenchReport): string {
  const lines: string[] = [];
  const m = report.machine;
  lines.push(
    `machine: ${m.nproc} x ${m.cpuModel}, ${m.memoryGb} GB, Node ${m.node}, load average at start ${m.loadAverageAtStart.join(' ')}`,
    `revision ${report.revision}, ${report.options.durationS} s per scenario, open-loop driver: ${report.options.rateDriver}, log level ${report.options.logLevel}`,
    '',
  );
  lines.push(
    table(
      [
        'path',
        'key',
        'load',
        'sent',
        'ok/s',
        'p50 ms',
        'p90 ms',
        'p99 ms',
        'max ms',
        'non2xx',
        'errors',
        'cpu ms/iss',
      ],
      report.scenarios.map((s) => [
        s.path,
        s.key ?? '-',
        loadLabel(s.load),
        String(s.result.sent),
        fmt(s.result.throughput),
        fmt(s.result.latencyMs.p50),
        fmt(s.result.latencyMs.p90),
        fmt(s.result.latencyMs.p99),
        fmt(s.result.latencyMs.max),
        nonOk(s.result.non2xx, s.result.statusCodes),
        String(s.result.errors),
        fmt(s.cpuMsPerIssuance),
      ]),
    ),
  );
  if (report.ratios.length > 0) {
    lines.push('', 'orchestrated / direct (/d) and orchestrated / floor (/f)');
    const cells = (set: RatioSet | null) =>
      set ? [fmt(set.p50), fmt(set.p99), fmt(set.throughput), fmt(set.cpuPerIssuance)] : ['-', '-', '-', '-'];
    lines.push(
      table(
        [
          'key',
          'load',
          '',
          'p50 /d',
          'p99 /d',
          'ok/s /d',
          'cpu/iss /d',
          'p50 /f',
          'p99 /f',
          'ok/s /f',
          'cpu/iss /f',
        ],
        report.ratios.map((r) => [r.key, r.load, '', ...cells(r.direct), ...cells(r.floor)]),
      ),
    );
  }
  const ladder = report.scenarios.filter((s) => s.path === 'ladder');
  if (ladder.length > 0) lines.push('', ladderTable(ladder));
  const names = [...new Set(report.scenarios.flatMap((s) => Object.keys(s.processes)))];
  lines.push('', 'CPU % of one core per process (peak RSS MB in the scenario)');
  lines.push(
    table(
      ['path', 'key', 'load', ...names],
      report.scenarios.map((s) => [
        s.path,
        s.key ?? '-',
        loadLabel(s.load),
        ...names.map((n) => {
          const u = s.processes[n];
          return u ? `${fmt(u.cpuPercent)} (${fmt(u.peakRssMb)})` : '-';
        }),
      ]),
    ),
  );
  lines.push(
    '',
    `lifetime peak RSS MB: ${Object.entries(report.lifetimePeakRssMb)
      .map(([n, v]) => `${n} ${v ?? '-'}`)
      .join(', ')}`,
  );
  if (report.rssAfterLoadMb) {
    lines.push(
      '',
      `RSS MB after the load: ${Object.entries(report.rssAfterLoadMb)
        .map(([n, v]) => `${n} ${v ?? '-'}`)
        .join(', ')}`,
    );
  }
  lines.push('', targetsTable(report));
  const builds = Object.keys(report.peakRssByBuild) as BenchBuild[];
  if (builds.length > 0) {
    const processes = [...new Set(builds.flatMap((b) => Object.keys(report.peakRssByBuild[b] ?? {})))];
    lines.push(
      '',
      `peak RSS MB by build (VmHWM over each process's life; main build: ${report.options.build})`,
    );
    lines.push(
      table(
        ['process', '', '', ...builds],
        processes.map((p) => [p, '', '', ...builds.map((b) => fmt(report.peakRssByBuild[b]?.[p] ?? NaN))]),
      ),
    );
  }
  return lines.join('\n');
}

/** The product processes of a stack (bench/runBench.ts names them after their services). */
const productProcesses = ['temporal', 'sas', 'fas', 'codec', 'worker', 'api', 'edge'];

/**
 * The performance targets (bench/README.md): the orchestrated path on the first key against the floor of the
 * same run. Unmet targets say so; a path or load the run left out reads "-".
 */
function targetsTable(report: BenchReport): string {
  const key = report.options.keys[0];
  const find = (path: BenchPath, connections: number | null, rate?: number) =>
    report.scenarios.find(
      (s) =>
        s.path === path &&
        (path === 'floor' || s.key === key) &&
        (rate !== undefined
          ? s.load.kind === 'rate' && s.load.rate === rate
          : s.load.kind === 'saturation' && (connections === 1) === (s.load.connections === 1)),
    );
  const satO = find('orchestrated', 20);
  const satF = find('floor', 20);
  const oneO = find('orchestrated', 1);
  const oneF = find('floor', 1);
  const fifty = find('orchestrated', null, 50);
  const ratio = (a?: number, b?: number) => (a !== undefined && b ? a / b : NaN);
  const r2 = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : '-');
  const rows: string[][] = [];
  const row = (target: string, measured: string, met: boolean | null) =>
    rows.push([target, '', '', measured, met === null ? '-' : met ? 'yes' : 'no']);
  const sat = ratio(satO?.result.throughput, satF?.result.throughput);
  row(
    'saturation >= 0.55 x floor',
    `${fmt(satO?.result.throughput ?? NaN)} / ${fmt(satF?.result.throughput ?? NaN)} = ${r2(sat)}`,
    Number.isFinite(sat) ? sat >= 0.55 : null,
  );
  const cpu = ratio(satO?.cpuMsPerIssuance, satF?.cpuMsPerIssuance);
  row(
    'CPU per issuance <= 2.2 x floor',
    `${fmt(satO?.cpuMsPerIssuance ?? NaN)} / ${fmt(satF?.cpuMsPerIssuance ?? NaN)} ms = ${r2(cpu)}`,
    Number.isFinite(cpu) ? cpu <= 2.2 : null,
  );
  const p50 = ratio(oneO?.result.latencyMs.p50, oneF?.result.latencyMs.p50);
  row(
    'unloaded p50 <= 2.5 x floor',
    `${fmt(oneO?.result.latencyMs.p50 ?? NaN)} / ${fmt(oneF?.result.latencyMs.p50 ?? NaN)} ms = ${r2(p50)}`,
    Number.isFinite(p50) ? p50 <= 2.5 : null,
  );
  if (fifty) {
    const only200 = fifty.result.ok === fifty.result.sent;
    row(
      `50/s for ${fifty.result.durationS} s: only 200s, p99 <= 150 ms`,
      `${fifty.result.ok}/${fifty.result.sent} 200, p99 ${fmt(fifty.result.latencyMs.p99)} ms`,
      only200 && fifty.result.latencyMs.p99 <= 150,
    );
  } else row('50/s: only 200s, p99 <= 150 ms', '-', null);
  const after = report.rssAfterLoadMb ?? {};
  const stack = productProcesses.reduce((sum, n) => sum + (after[n] ?? 0), 0);
  row(
    'stack RSS after load <= 1200 MB',
    `${fmt(stack)} MB (${productProcesses.filter((n) => after[n]).join(' + ')})`,
    stack > 0 ? stack <= 1200 : null,
  );
  const workerProcess = after.worker ?? after.api;
  // The floor process's own peak while it ran the floor (one worker), before the ladder added a second.
  const floorPeak = Math.max(
    ...report.scenarios.filter((s) => s.path === 'floor').map((s) => s.processes.floor?.peakRssMb ?? 0),
  );
  row(
    'worker process <= floor + 100 MB',
    `${fmt(workerProcess ?? NaN)} vs ${fmt(floorPeak)} MB`,
    workerProcess && floorPeak > 0 ? workerProcess <= floorPeak + 100 : null,
  );
  const others = Object.entries(after).filter(
    ([n]) => productProcesses.includes(n) && n !== 'temporal' && n !== (after.worker ? 'worker' : 'api'),
  );
  const worst = Math.max(...others.map(([, v]) => v ?? 0));
  row(
    'other Node processes <= 150 MB each',
    others.map(([n, v]) => `${n} ${fmt(v ?? NaN)}`).join(', '),
    others.length ? worst <= 150 : null,
  );
  return [
    'targets (orchestrated on the first key against the floor of this run)',
    table(['target', '', '', 'measured', 'met'], rows),
  ].join('\n');
}

/**
 * The floor ladder: per rung, runs/s and CPU per run (the floor process and the dev server) at saturation, the
 * p50 of runs one at a time, and what the rung's feature adds to the CPU per run of the rung below.
 */
function ladderTable(scenarios: ScenarioResult[]): string {
  const rungs = [...new Set(scenarios.map((s) => s.rung ?? '?'))];
  let below: number | undefined;
  const rows = rungs.map((rung) => {
    const of = scenarios.filter((s) => s.rung === rung);
    const loaded = of.find((s) => s.load.kind === 'saturation' && s.load.connections > 1);
    const serial = of.find((s) => s.load.kind === 'saturation' && s.load.connections === 1);
    const cpu = loaded?.cpuMsPerIssuance ?? NaN;
    const added = below === undefined ? '-' : `${cpu - below >= 0 ? '+' : ''}${fmt(cpu - below)}`;
    below = cpu;
    return [
      rung,
      '',
      '',
      fmt(loaded?.result.throughput ?? NaN),
      fmt(cpu),
      added,
      fmt(serial?.result.latencyMs.p50 ?? NaN),
      fmt(serial ? (serial.processes.temporal?.cpuMs ?? NaN) / Math.max(1, serial.result.ok) : NaN),
    ];
  });
  return [
    'floor ladder (each rung adds one feature to the one above; one client+worker process, the same dev server)',
    table(['rung', '', '', 'runs/s', 'cpu ms/run', 'added', 'p50 c=1 ms', 'server ms/run c=1'], rows),
  ].join('\n');
}

/** The count of non-2xx answers, with their statuses: `37 (429x37)`. */
function nonOk(count: number, statusCodes: Record<string, number>): string {
  const codes = Object.entries(statusCodes)
    .filter(([code]) => !code.startsWith('2'))
    .map(([code, n]) => `${code}x${n}`);
  return codes.length > 0 ? `${count} (${codes.join(' ')})` : String(count);
}

function fmt(n: number): string {
  if (!Number.isFinite(n)) return '-';
  return n >= 100 ? String(Math.round(n)) : String(Math.round(n * 10) / 10);
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i < 3 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}
