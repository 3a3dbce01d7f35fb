import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

const root = resolve(__dirname, '..', '..');

/** Where a process's output goes: a line at a time, with the process name. */
export type OutputSink = (name: string, line: string) => void;

/**
 * Starts `command` in the repository root with exactly `env`, its stdout and stderr passed to `output` a line
 * at a time under `name`.
 */
export function spawnLogged(
  name: string,
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  output: OutputSink,
): ChildProcess {
  const child = spawn(command, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) => output(name, line));
  }
  return child;
}

/**
 * The node arguments of `npm run <script>` (`start:api`, `start:worker`, ...), read from package.json, so that
 * a test or a script starts a process exactly as an operator does, without npm in between (whose shell would
 * stand between the signals and the process, and hide its pid). Only `node --import tsx <entry>` is accepted.
 */
export function npmScriptArgs(script: string): string[] {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    scripts?: Record<string, string>;
  };
  const command = pkg.scripts?.[script];
  const match = command === undefined ? null : /^node --import tsx (\S+)$/.exec(command);
  if (!match?.[1]) throw new Error(`package.json script ${script} is not "node --import tsx <entry>"`);
  return ['--import', 'tsx', match[1]];
}
