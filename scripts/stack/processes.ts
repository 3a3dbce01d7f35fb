import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { repoRoot as root } from '../../lib/repoRoot';

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
 * The node arguments that run the entry of `npm run <script>` (`start:api`, `start:worker`, ...) from its
 * TypeScript source, read from package.json, so that a test starts each process on the very module an operator's
 * `npm run` starts, without npm in between (whose shell would stand between the signals and the process, and hide
 * its pid). Two forms are understood: `node --import tsx <entry.ts>`, and `node scripts/service.js <entry>`, which
 * runs `<entry>.ts` through tsx, or under NODE_ENV=production its compiled `dist/<entry>.js` from `npm run build`;
 * here it is always the source, so no build has to precede a test.
 */
export function npmScriptArgs(script: string): string[] {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    scripts?: Record<string, string>;
  };
  const command = pkg.scripts?.[script] ?? '';
  const tsx = /^node --import tsx (\S+\.ts)$/.exec(command);
  if (tsx?.[1]) return ['--import', 'tsx', tsx[1]];
  const service = /^node scripts\/service\.js (\S+)$/.exec(command);
  if (service?.[1]) return ['--import', 'tsx', `${service[1]}.ts`];
  throw new Error(
    `package.json script ${script} is neither "node --import tsx <entry>" nor "node scripts/service.js <entry>"`,
  );
}
