import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { terminate } from '../../scripts/stack';

export const execFileAsync = promisify(execFile);

/** Where the rules live in the repository. */
export const rulesDir = join(__dirname, '..', '..', 'deploy', 'prometheus');
export const ruleFiles = ['recording.rules.yml', 'alerts.rules.yml'];

const executable = (path: string) => {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/**
 * Debian's Prometheus binaries (scripts/install-prometheus.sh), or why the tests that need them must skip.
 * PROMETHEUS_PATH and PROMTOOL_PATH point elsewhere.
 */
export function prometheusBinaries(): { prometheus: string; promtool: string } | { skip: string } {
  const prometheus = process.env.PROMETHEUS_PATH ?? '/usr/bin/prometheus';
  const promtool = process.env.PROMTOOL_PATH ?? '/usr/bin/promtool';
  for (const path of [prometheus, promtool]) {
    if (!executable(path)) return { skip: `${path} is missing (scripts/install-prometheus.sh installs it)` };
  }
  return { prometheus, promtool };
}

export interface AlertState {
  alertname: string;
  state: 'pending' | 'firing';
  labels: Record<string, string>;
}

export interface RunningPrometheus {
  url: string;
  /** Alerts pending or firing now (GET /api/v1/alerts). */
  alerts(): Promise<AlertState[]>;
  /** The value of an instant query with one result, or undefined without one. */
  query(expr: string): Promise<number | undefined>;
  stop(): Promise<void>;
}

/** Starts a Prometheus with `config` (YAML text) written into `dir`, and waits until it is ready. */
export async function startPrometheus(opts: {
  binary: string;
  dir: string;
  port: number;
  config: string;
  output: (line: string) => void;
}): Promise<RunningPrometheus> {
  const configFile = join(opts.dir, 'prometheus.yml');
  await writeFile(configFile, opts.config);
  const child: ChildProcess = spawn(
    opts.binary,
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(opts.dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${opts.port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  for (const stream of [child.stdout, child.stderr])
    stream?.on('data', (d: Buffer) => opts.output(String(d)));
  const url = `http://127.0.0.1:${opts.port}`;
  const until = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`prometheus exited with code ${child.exitCode}`);
    const ready = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) }).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) break;
    if (Date.now() > until) throw new Error('prometheus did not become ready');
    await new Promise((r) => setTimeout(r, 200));
  }

  const api = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${url}${path}`, { signal: AbortSignal.timeout(5000) });
    const body = (await res.json()) as { status: string; data: T; error?: string };
    if (body.status !== 'success') throw new Error(`prometheus ${path}: ${body.error ?? res.status}`);
    return body.data;
  };
  return {
    url,
    alerts: async () => {
      const data = await api<{ alerts: { labels: Record<string, string>; state: AlertState['state'] }[] }>(
        '/api/v1/alerts',
      );
      return data.alerts.map((a) => ({
        alertname: a.labels.alertname ?? '',
        state: a.state,
        labels: a.labels,
      }));
    },
    query: async (expr) => {
      const data = await api<{ result: { value: [number, string] }[] }>(
        `/api/v1/query?query=${encodeURIComponent(expr)}`,
      );
      const value = data.result[0]?.value[1];
      return value === undefined ? undefined : Number(value);
    },
    stop: () => terminate(child),
  };
}
