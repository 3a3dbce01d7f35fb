import { randomUUID } from 'node:crypto';
import {
  REFRESH_WORKFLOW_TYPE,
  TASK_QUEUE,
  type RefreshWebchatTokenInput,
  type RefreshWebchatTokenResult,
} from '../domain/contracts';
import type { Logger } from '../lib/logger';
import { runStartOptions, temporalClient, type TemporalClientOptions } from './temporalClient';
import type { Refresher } from './refresher';
import { runWithDeadline } from './runWithDeadline';

/** Workflow id of a refresh: server-side randomness, like an issuance's (see `newWorkflowId`). */
export const newRefreshWorkflowId = () => `webchat-refresh-${randomUUID()}`;

/** Starts one `RefreshWebchatToken` run per request and waits for it, bounded by the deadline. */
export function temporalRefresher(
  opts: TemporalClientOptions & {
    logger: Logger;
    taskQueue?: string;
  },
): Refresher {
  const client = temporalClient(opts);
  const taskQueue = opts.taskQueue ?? TASK_QUEUE;
  return {
    refreshToken(input, deadlineMs) {
      const workflowId = newRefreshWorkflowId();
      const log = opts.logger.child({ requestId: input.requestId });
      return runWithDeadline(client, workflowId, deadlineMs, log, (c) =>
        c.workflow.start<(i: RefreshWebchatTokenInput) => Promise<RefreshWebchatTokenResult>>(
          REFRESH_WORKFLOW_TYPE,
          {
            taskQueue,
            workflowId,
            args: [input],
            ...runStartOptions(opts, 'Webchat token refresh', input.requestId),
          },
        ),
      );
    },
  };
}
