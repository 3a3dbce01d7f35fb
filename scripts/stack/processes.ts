import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { repoRoot as root } from '../../lib/repoRoot';

/** Where a process's output goes: a line at a time, with the process name. */
export type OutputSink = (name: string, line: string) => void;

/**
 * Starts `command` in the repository root with exactly `env`, its stdout and stderr passed to `output` a line
 * at a time under `name`. `ownProcessGroup`: in a process group of its own, out of reach of the terminal's
 * Ctrl-C (see `StackOptions.ownProcessGroups`).
 */
export function spawnLogged(
  name: string,
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  output: OutputSink,
  { ownProcessGroup = false }: { ownProcessGroup?: boolean } = {},
): ChildProcess {
  const child = spawn(command, args, {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: ownProcessGroup,
  });
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) => output(name, line));
  }
  return child;
}
