import { randomUUID } from 'node:crypto';
import {
  CREATE_WORKFLOW_TYPE,
  TASK_QUEUE,
  type CreateWebchatTokenInput,
  type CreateWebchatTokenResult,
} from '../domain/contracts';
import type { Logger } from '../lib/logger';
import { runStartOptions, temporalClient, type TemporalClientOptions } from './temporalClient';
import { idempotentWorkflowId, startIdempotent } from './idempotency';
import { rejectOnAbort } from './rejectOnAbort';
import type { Issuer } from './issuer';
import { runWithDeadline } from './runWithDeadline';

/**
 * Workflow id of an issuance without an idempotency key: server-side randomness, never a client value, so no
 * client can pick an id, collide with another request's or reach into the `webchat-token-idem-` namespace (a
 * UUID is hex and dashes). The run is found from the X-Request-Id by its `WebchatRequestId` search attribute.
 */
export const newWorkflowId = () => `webchat-token-${randomUUID()}`;

/** How long a completed issuance answers retries with the same `Idempotency-Key`. */
export const DEFAULT_IDEMPOTENCY_WINDOW_MS = 10 * 60_000;

/**
 * Starts one `CreateWebchatToken` run per request and waits for it, bounded by the deadline. When the
 * deadline passes, the run is cancelled so that no token is minted for a client that was told 503.
 */
export function temporalIssuer(
  opts: TemporalClientOptions & {
    logger: Logger;
    taskQueue?: string;
    /** How long a completed run answers retries with the same `Idempotency-Key`. */
    idempotencyWindowMs?: number;
  },
): Issuer {
  const client = temporalClient(opts);
  const taskQueue = opts.taskQueue ?? TASK_QUEUE;
  const log = opts.logger;
  const idempotencyWindowMs = opts.idempotencyWindowMs ?? DEFAULT_IDEMPOTENCY_WINDOW_MS;

  return {
    createToken(input, deadlineMs, options = {}): Promise<CreateWebchatTokenResult> {
      const key = options.idempotencyKey;
      const workflowId = key
        ? idempotentWorkflowId('webchat-token', input.deploymentKey, key, [input.origin, input.signals])
        : newWorkflowId();
      const startOptions = {
        taskQueue,
        workflowId,
        args: [input] as [CreateWebchatTokenInput],
        ...runStartOptions(opts, 'Webchat token issuance', input.requestId),
      };
      return runWithDeadline(
        client,
        workflowId,
        deadlineMs,
        log.child({ requestId: input.requestId }),
        (c) =>
          key
            ? startIdempotent<CreateWorkflow>(c, CREATE_WORKFLOW_TYPE, startOptions, idempotencyWindowMs)
            : c.workflow.start<CreateWorkflow>(CREATE_WORKFLOW_TYPE, startOptions),
        // With an idempotency key the client will retry with it: the run goes on, and the retry gets its result.
        !key,
      );
    },

    async ready() {
      try {
        const probe = client.withDeadline(Date.now() + 1000, () =>
          opts.connection.workflowService.getSystemInfo({}),
        );
        await Promise.race([probe, rejectOnAbort(AbortSignal.timeout(1000))]);
        return true;
      } catch {
        return false;
      }
    },
  };
}

type CreateWorkflow = (input: CreateWebchatTokenInput) => Promise<CreateWebchatTokenResult>;
