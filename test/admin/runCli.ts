import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { type CliIo, main } from '../../admin/cli';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in this process through its real entry function, with its own environment. */
export async function runCli(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), env };
  const code = await main(argv, io);
  return { code, stdout, stderr };
}

const root = resolve(__dirname, '..', '..');

/** Runs `npm run admin -- ...` as it really runs: `node --import tsx admin/main.ts`, a process of its own. */
export function spawnCli(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<CliRun> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'admin/main.ts', ...argv], {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.once('error', reject);
    child.once('close', (code) => resolvePromise({ code: code ?? -1, stdout, stderr }));
  });
}

/** The `--json` output of a successful run. */
export function json<T>(run: CliRun): T {
  if (run.code !== 0) throw new Error(`exit ${run.code}: ${run.stderr}`);
  return JSON.parse(run.stdout) as T;
}
