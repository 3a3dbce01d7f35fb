import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { repoRoot } from './repoRoot';

const toolsBin = resolve(repoRoot, '.tools', 'temporal', 'bin');

/**
 * Paths of the real Temporal binaries: the CLI (dev server + UI) and the time-skipping test server.
 * `scripts/install-temporal.sh` puts them in `.tools/temporal/bin`; the environment overrides either path.
 */
export function temporalCliPath(env: NodeJS.ProcessEnv = process.env): string {
  return locate(env.TEMPORAL_CLI_PATH, 'temporal', 'TEMPORAL_CLI_PATH');
}

export function temporalTestServerPath(env: NodeJS.ProcessEnv = process.env): string {
  return locate(env.TEMPORAL_TEST_SERVER_PATH, 'temporal-test-server', 'TEMPORAL_TEST_SERVER_PATH');
}

function locate(override: string | undefined, name: string, variable: string): string {
  const path = override || resolve(toolsBin, name);
  if (!existsSync(path)) {
    throw new Error(
      `Temporal binary not found at ${path}. Run ./scripts/install-temporal.sh (or make start / make test), ` +
        `or set ${variable} to a ${name} executable.`,
    );
  }
  return path;
}
