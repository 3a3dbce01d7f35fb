import { createHash } from 'node:crypto';
import {
  type Client,
  type WorkflowHandle,
  type WorkflowStartOptions,
  WorkflowExecutionAlreadyStartedError,
} from '@temporalio/client';
import type { Workflow } from '@temporalio/common';
import type { Context } from 'koa';
import { AppError } from '../domain/errors';
import { idempotencyKeySchema } from '../domain/publicContract';

/**
 * The request's `Idempotency-Key` header, if any. Validated here (1 to 128 characters of a URL- and log-safe
 * set, e.g. a UUID) so that the key can never smuggle anything into a workflow id or a log line.
 */
export function readIdempotencyKey(ctx: Context): string | undefined {
  const given = ctx.headers['idempotency-key'];
  if (given === undefined) return undefined;
  if (typeof given !== 'string' || !idempotencyKeySchema.safeParse(given).success) {
    throw new AppError(
      'invalid_request',
      'Idempotency-Key must be 1 to 128 characters of A-Z a-z 0-9 and _ . : ~ + = / -.',
    );
  }
  return given;
}

/**
 * The workflow id of an idempotent request. Scoped by deployment key, so two sites that happen to use the same
 * key never share a result, and by the rest of the request (`request`: origin, fingerprint signals), which a
 * genuine retry repeats: whoever learns a client's key from another browser gets a run of their own, never that
 * client's token. Hashed, so neither the deployment key nor the client's key shows in the UI.
 */
export function idempotentWorkflowId(
  prefix: string,
  deploymentKey: string,
  key: string,
  request: unknown = null,
): string {
  // `\n` occurs in neither a deployment key nor a valid key, so no two different inputs hash the same text.
  const digest = createHash('sha256')
    .update(`${deploymentKey}\n${key}\n${JSON.stringify(request)}`)
    .digest('hex')
    .slice(0, 40);
  return `${prefix}-idem-${digest}`;
}

/**
 * Starts the workflow of an idempotent request, or finds the run that already answers it:
 * - a run of this id is still running: attach to it (`USE_EXISTING`), so concurrent duplicates share one run;
 * - the last run failed, was cancelled, terminated or timed out: start afresh (`ALLOW_DUPLICATE_FAILED_ONLY`),
 *   since no outcome was delivered for it;
 * - the last run completed and started within `windowMs`: return its handle, whose result is the outcome the
 *   first request got (same token, same identity);
 * - it completed longer ago: the key has expired, and a new run starts (`ALLOW_DUPLICATE`).
 * Closed runs are kept for the namespace's retention period, so the window must be shorter than that.
 */
export async function startIdempotent<T extends Workflow>(
  client: Client,
  workflowType: string,
  options: WorkflowStartOptions<T>,
  windowMs: number,
): Promise<WorkflowHandle<T>> {
  const base = { ...options, workflowIdConflictPolicy: 'USE_EXISTING' } as const;
  try {
    return await client.workflow.start<T>(workflowType, {
      ...base,
      workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
  const previous = client.workflow.getHandle<T>(options.workflowId);
  const { startTime } = await previous.describe();
  if (Date.now() - startTime.getTime() < windowMs) return previous;
  // Two retries racing at the very moment of expiry can each start a run here; both then follow the latest run,
  // so at worst one extra token is minted once per expired key.
  return client.workflow.start<T>(workflowType, { ...base, workflowIdReusePolicy: 'ALLOW_DUPLICATE' });
}
