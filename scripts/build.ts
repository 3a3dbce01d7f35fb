/**
 * `npm run build`: the production build in dist/ (or the folder given as the first argument). The services'
 * TypeScript compiled to CommonJS by tsc (tsconfig.build.json), the files they read at run time (the demo
 * page), and the workflow bundle, built once here so that a worker starts without webpack:
 * `workflow-bundle.js`, and `workflow-bundle-traced.js` with the OpenTelemetry workflow interceptors for a
 * worker that runs with tracing on (lib/temporalTracing.ts). `npm run start:*` and the container image run it
 * when NODE_ENV=production (scripts/service.js).
 */
import { execFileSync } from 'node:child_process';
import { cp, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { prebuiltBundleFiles, workflowsPath } from '../worker/createWorker';

const root = resolve(__dirname, '..');

async function main() {
  const outDir = resolve(process.argv[2] ?? join(root, 'dist'));
  await rm(outDir, { recursive: true, force: true });
  execFileSync(
    process.execPath,
    [require.resolve('typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json'), '--outDir', outDir],
    { stdio: 'inherit' },
  );
  await cp(join(root, 'web', 'public'), join(outDir, 'web', 'public'), { recursive: true });
  const tracing = require.resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors');
  for (const [file, workflowInterceptorModules] of [
    [prebuiltBundleFiles.plain, []],
    [prebuiltBundleFiles.traced, [tracing]],
  ] as const) {
    const { code } = await bundleWorkflowCode({
      workflowsPath: workflowsPath(),
      workflowInterceptorModules: [...workflowInterceptorModules],
      logger: new DefaultLogger('WARN'),
    });
    await writeFile(join(outDir, file), code);
  }
  console.log(`built ${outDir}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
