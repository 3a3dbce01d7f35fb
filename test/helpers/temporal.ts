import { SearchAttributeType } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import {
  bundleWorkflowCode,
  Runtime,
  DefaultLogger,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import { devServerDynamicConfigArgs } from '../../lib/devServerFlags';
import { temporalCliPath, temporalTestServerPath } from '../../lib/temporalBinaries';
import { searchAttributeKeys } from '../../domain/searchAttributes';
import { workflowsPath } from '../../worker/createWorker';

let runtimeInstalled = false;

/** Keeps the SDK quiet in test output unless something is wrong. */
export function quietRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  Runtime.install({ logger: new DefaultLogger('ERROR') });
}

/**
 * The real time-skipping test server. Its start-up check allows 5 s, which a busy 2-core machine can miss,
 * so a failed start is retried.
 */
export async function timeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  quietRuntime();
  const path = temporalTestServerPath();
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const env = await TestWorkflowEnvironment.createTimeSkipping({
        server: { executable: { type: 'existing-path', path } },
      });
      await registerSearchAttributes(env);
      return env;
    } catch (err) {
      lastError = err;
    }
  }
  throw lastError;
}

/** The time-skipping server has no `--search-attribute` flag: register ours through the operator API. */
async function registerSearchAttributes(env: TestWorkflowEnvironment): Promise<void> {
  const indexed: Record<string, temporal.api.enums.v1.IndexedValueType> = {};
  for (const key of searchAttributeKeys) {
    indexed[key.name] =
      key.type === SearchAttributeType.BOOL
        ? temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_BOOL
        : temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD;
  }
  await env.connection.operatorService.addSearchAttributes({
    namespace: env.namespace ?? 'default',
    searchAttributes: indexed,
  });
}

/** The real dev server (Temporal CLI), with our search attributes registered. */
export async function localEnv(): Promise<TestWorkflowEnvironment> {
  quietRuntime();
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: temporalCliPath() },
      searchAttributes: searchAttributeKeys,
      log: { format: 'pretty', level: 'error' },
      extraArgs: devServerDynamicConfigArgs,
    },
  });
}

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;

/** The workflow bundle, built once per test process; bundling also fails fast on a forbidden import. */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({ workflowsPath: workflowsPath(), logger: new DefaultLogger('ERROR') });
  return bundle;
}
