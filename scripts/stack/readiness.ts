import type { ChildProcess } from 'node:child_process';
import { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { TASK_QUEUE } from '../../domain/contracts';

/** SIGTERM, then SIGKILL if the process has not exited within the grace period. */
export async function terminate(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

export async function waitForTemporal(address: string, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1000 });
      try {
        await connection.workflowService.getSystemInfo({});
        return;
      } finally {
        await connection.close();
      }
    } catch (err) {
      if (Date.now() > until) throw new Error(`Temporal did not answer at ${address}: ${String(err)}`);
      await sleep(250);
    }
  }
}

/** Polls `url` until it answers 2xx; fails early when `child` exits. */
export async function waitForHttp(url: string, child: ChildProcess, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${url}: the process exited with code ${child.exitCode}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (res.ok) return;
    } catch {
      // not up yet
    }
    if (Date.now() > until) throw new Error(`${url} did not become ready`);
    await sleep(200);
  }
}

/**
 * Waits until the worker process `child` polls the token task queue: the server lists a poller whose identity
 * is the SDK's default, `<pid>@<host>`, for this very process (a worker killed a moment ago may still be
 * listed under its own pid). Fails early when `child` exits.
 */
export async function waitForWorker(
  child: ChildProcess,
  temporalAddress: string,
  // Generous: a worker run through tsx bundles its workflows with webpack at start, which on a busy shared
  // machine has taken more than a minute.
  { namespace = 'default', taskQueue = TASK_QUEUE, timeoutMs = 180_000 } = {},
): Promise<void> {
  const until = Date.now() + timeoutMs;
  const connection = await Connection.connect({ address: temporalAddress, connectTimeout: 5000 });
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`the worker exited with code ${child.exitCode}`);
      const { pollers } = await connection.workflowService.describeTaskQueue({
        namespace,
        taskQueue: { name: taskQueue },
        taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
      });
      if (pollers?.some((p) => p.identity?.startsWith(`${child.pid}@`))) return;
      if (Date.now() > until) throw new Error(`the worker (pid ${child.pid}) is not polling ${taskQueue}`);
      await sleep(200);
    }
  } finally {
    await connection.close();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
