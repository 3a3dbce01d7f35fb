import { execFileSync } from 'node:child_process';
import { cpus, totalmem, loadavg } from 'node:os';
import type { BenchKey, BenchOptions, BenchPath } from './benchOptions';
import type { LoadResult } from './loadResult';
import type { ProcessUsage } from './processMonitor';

export type LoadShape = { kind: 'rate'; rate: number } | { kind: 'saturation'; connections: number };

export interface ScenarioResult {
  path: BenchPath;
  key: BenchKey;
  load: LoadShape;
  result: LoadResult;
  /** Per process, over the scenario; `loadgen` is the benchmark itself. */
  processes: Record<string, ProcessUsage>;
  /** CPU time of every service process (not the load generator) per 2xx answer. */
  cpuMsPerIssuance: number;
}

export interface Ratio {
  key: BenchKey;
  load: string;
  p50: number;
  p90: number;
  p99: number;
  throughput: number;
  cpuPerIssuance: number;
}

export interface BenchReport {
  startedAt: string;
  command: string;
  /** `git describe --always --dirty` of the tree that ran: the code under test changes between runs. */
  revision: string;
  machine: { nproc: number; cpuModel: string; memoryGb: number; node: string; loadAverageAtStart: number[] };
  options: BenchOptions;
  scenarios: ScenarioResult[];
  /** orchestrated / direct for each scenario both paths ran. */
  ratios: Ratio[];
  /** `VmHWM` of each service over the whole run, MB. */
  lifetimePeakRssMb: Record<string, number | null>;
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
  const ratios: Ratio[] = [];
  for (const orchestrated of scenarios.filter((s) => s.path === 'orchestrated')) {
    const direct = scenarios.find(
      (s) =>
        s.path === 'direct' &&
        s.key === orchestrated.key &&
        loadLabel(s.load) === loadLabel(orchestrated.load),
    );
    if (!direct) continue;
    const ratio = (a: number, b: number) => (b > 0 ? Math.round((a / b) * 100) / 100 : NaN);
    const o = orchestrated.result.latencyMs;
    const d = direct.result.latencyMs;
    ratios.push({
      key: orchestrated.key,
      load: loadLabel(orchestrated.load),
      p50: ratio(o.p50, d.p50),
      p90: ratio(o.p90, d.p90),
      p99: ratio(o.p99, d.p99),
      throughput: ratio(orchestrated.result.throughput, direct.result.throughput),
      cpuPerIssuance: ratio(orchestrated.cpuMsPerIssuance, direct.cpuMsPerIssuance),
    });
  }
  return ratios;
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
        s.key,
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
    lines.push('', 'orchestrated / direct');
    lines.push(
      table(
        ['key', 'load', 'p50', 'p90', 'p99', 'ok/s', 'cpu/iss'],
        report.ratios.map((r) => [
          r.key,
          r.load,
          fmt(r.p50),
          fmt(r.p90),
          fmt(r.p99),
          fmt(r.throughput),
          fmt(r.cpuPerIssuance),
        ]),
      ),
    );
  }
  const names = [...new Set(report.scenarios.flatMap((s) => Object.keys(s.processes)))];
  lines.push('', 'CPU % of one core per process (peak RSS MB in the scenario)');
  lines.push(
    table(
      ['path', 'key', 'load', ...names],
      report.scenarios.map((s) => [
        s.path,
        s.key,
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
  return lines.join('\n');
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
