import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** What one process used while a scenario ran. */
export interface ProcessUsage {
  /** CPU time (user + system) spent during the scenario. */
  cpuMs: number;
  /** `cpuMs` over the wall time of the scenario: 100 is one core busy the whole time. */
  cpuPercent: number;
  /** Highest resident set size seen while sampling during the scenario. */
  peakRssMb: number;
}

interface Sample {
  cpuMs: number;
  rssKb: number;
}

const ticksPerSecond = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU time and RSS of a process from /proc (Linux), or null once it has gone. */
export function readProcess(pid: number): Sample | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces and parentheses: the fields that follow start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of the whole line, so 12 and 13 after the name.
    const ticks = Number(fields[11]) + Number(fields[12]);
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rss = /^VmRSS:\s+(\d+) kB/m.exec(status);
    return { cpuMs: (ticks * 1000) / ticksPerSecond, rssKb: rss ? Number(rss[1]) : 0 };
  } catch {
    return null;
  }
}

/** The peak RSS over a process's whole life so far (`VmHWM`), in MB. */
export function lifetimePeakRssMb(pid: number): number | null {
  try {
    const hwm = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return hwm ? Math.round(Number(hwm[1]) / 102.4) / 10 : null;
  } catch {
    return null;
  }
}

/**
 * Samples a set of processes while a scenario runs: CPU time as the difference between start and stop, RSS
 * as the highest value seen every `intervalMs`. `self` stands for this process (the load generator).
 */
export class ProcessMonitor {
  private readonly first = new Map<string, Sample>();
  private readonly peakKb = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private startedAt = 0;
  private selfStart = process.cpuUsage();

  constructor(
    private readonly pids: ReadonlyMap<string, number>,
    private readonly intervalMs = 200,
  ) {}

  start(): void {
    this.startedAt = performance.now();
    this.selfStart = process.cpuUsage();
    for (const [name, pid] of this.pids) {
      const sample = readProcess(pid);
      if (sample) {
        this.first.set(name, sample);
        this.peakKb.set(name, sample.rssKb);
      }
    }
    this.timer = setInterval(() => this.sampleRss(), this.intervalMs);
  }

  stop(): Record<string, ProcessUsage> {
    clearInterval(this.timer);
    this.sampleRss();
    const wallMs = performance.now() - this.startedAt;
    const usage: Record<string, ProcessUsage> = {};
    for (const [name, pid] of this.pids) {
      const first = this.first.get(name);
      const last = readProcess(pid);
      if (!first || !last) continue;
      usage[name] = summarize(last.cpuMs - first.cpuMs, wallMs, this.peakKb.get(name) ?? last.rssKb);
    }
    const self = process.cpuUsage(this.selfStart);
    usage.loadgen = summarize((self.user + self.system) / 1000, wallMs, process.memoryUsage.rss() / 1024);
    return usage;
  }

  private sampleRss(): void {
    for (const [name, pid] of this.pids) {
      const sample = readProcess(pid);
      if (sample && sample.rssKb > (this.peakKb.get(name) ?? 0)) this.peakKb.set(name, sample.rssKb);
    }
  }
}

function summarize(cpuMs: number, wallMs: number, peakKb: number): ProcessUsage {
  return {
    cpuMs: Math.round(cpuMs),
    cpuPercent: Math.round((cpuMs / wallMs) * 1000) / 10,
    peakRssMb: Math.round(peakKb / 102.4) / 10,
  };
}
