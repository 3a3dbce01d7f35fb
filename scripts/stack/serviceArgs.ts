/**
 * The one place that says how a process of this product is launched: which module is its entry point, and the
 * node arguments that run it from each build. `npm run start:*` (scripts/service.js), `make start` and
 * `make dev`, the stack (`startStack`) and the tests that start processes all go through it.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot as root } from '../../lib/repoRoot';

/** Each process's entry module, from the repository root, without its extension. */
export const serviceEntries = {
  temporal: 'scripts/start-temporal',
  sas: 'services/scoped-auth/main',
  fas: 'services/federated-auth/main',
  codec: 'services/codec-server/main',
  worker: 'worker/main',
  api: 'api/main',
  edge: 'edge/main',
  web: 'web/main',
  /** `make start` and `make dev` themselves: the whole stack. */
  stack: 'scripts/start',
  'rotate-keys': 'scripts/rotate-keys',
} as const;

export type ServiceName = keyof typeof serviceEntries;

/**
 * How the TypeScript runs: `dist`, the compiled JavaScript of `npm run build` (no TypeScript compiler in the
 * process, the worker's workflow bundle prebuilt); `tsx`, the sources, compiled as they load; `watch`, the
 * sources under `tsx watch`, the process restarting when a file it loads changes (`make dev`).
 */
export type Build = 'dist' | 'tsx' | 'watch';

/** @public scripts/service.js, plain CommonJS, requires it at run time. */
export function isServiceName(name: string): name is ServiceName {
  return Object.hasOwn(serviceEntries, name);
}

/**
 * The file that runs `service` from `build` (`watch` runs the same file as `tsx`). The build's file must exist:
 * without one, this says to run `npm run build` first.
 * @public scripts/service.js requires it at run time.
 */
export function serviceEntryFile(service: ServiceName, build: Build): string {
  const entry = serviceEntries[service];
  if (build !== 'dist') return join(root, `${entry}.ts`);
  const compiled = join(root, 'dist', `${entry}.js`);
  if (!existsSync(compiled)) throw new Error(`${compiled} is missing: run npm run build first`);
  return compiled;
}

/** The arguments of `node` that run `service` from `build`, as a separate process (`process.execPath`). */
export function serviceArgs(service: ServiceName, build: Build, args: readonly string[] = []): string[] {
  const file = serviceEntryFile(service, build);
  switch (build) {
    case 'dist':
      return [file, ...args];
    case 'tsx':
      return ['--import', 'tsx', file, ...args];
    case 'watch':
      return [require.resolve('tsx/cli'), 'watch', '--clear-screen=false', file, ...args];
  }
}
