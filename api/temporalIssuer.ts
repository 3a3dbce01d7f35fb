import { Client, type Connection, WorkflowFailedError } from '@temporalio/client';
import { AppError } from '../lib/errors';
import {
  CREATE_WORKFLOW_TYPE,
  TASK_QUEUE,
  type CreateWebchatTokenInput,
  type CreateWebchatTokenResult,
} from '../lib/contracts';
import type { Logger } from '../lib/logger';
import * as sa from '../lib/searchAttributes';
import type { Issuer } from './issuer';

const retryAfter = { 'Retry-After': '2' };

/** Workflow id of the issuance for one request: findable in the UI from the X-Request-Id the client saw. */
export const workflowIdFor = (requestId: string) => `webchat-token-${requestId}`;

/**
 * Starts one `CreateWebchatToken` run per request and waits for it, bounded by the deadline. When the
 * deadline passes, the run is cancelled so that no token is minted for a client that was told 503.
 */
export function temporalIssuer(opts: {
  connection: Connection;
  namespace: string;
  logger: Logger;
  taskQueue?: string;
}): Issuer {
  const client = new Client({ connection: opts.connection, namespace: opts.namespace });
  const taskQueue = opts.taskQueue ?? TASK_QUEUE;
  const log = opts.logger;

  return {
    async createToken(input: CreateWebchatTokenInput, deadlineMs: number): Promise<CreateWebchatTokenResult> {
      const workflowId = workflowIdFor(input.requestId);
      const abort = new AbortController();
      const timer = setTimeout(() => abort.abort(), deadlineMs);
      let started = false;
      try {
        return await client.withAbortSignal(abort.signal, async () => {
          const handle = await client.workflow.start(CREATE_WORKFLOW_TYPE, {
            taskQueue,
            workflowId,
            args: [input],
            // Kept well past the HTTP deadline so that retries ride out short FAS/SAS blips.
            workflowExecutionTimeout: '3m',
            typedSearchAttributes: [{ key: sa.Outcome, value: 'pending' }],
            staticSummary: 'Webchat token issuance',
          });
          started = true;
          return (await handle.result()) as CreateWebchatTokenResult;
        });
      } catch (err) {
        if (abort.signal.aborted) {
          log.warn({ workflowId, deadlineMs }, 'token request passed its deadline');
          if (started) cancelQuietly(client, workflowId, log);
          throw new AppError('unavailable', 'Token issuance is temporarily unavailable.', retryAfter);
        }
        if (err instanceof WorkflowFailedError) {
          log.error({ workflowId, err: err.cause }, 'token workflow failed');
        } else {
          log.error({ workflowId, err }, 'could not run the token workflow');
        }
        throw new AppError('unavailable', 'Token issuance is temporarily unavailable.', retryAfter);
      } finally {
        clearTimeout(timer);
      }
    },

    async ready() {
      try {
        await client.withDeadline(Date.now() + 1000, () => opts.connection.workflowService.getSystemInfo({}));
        return true;
      } catch {
        return false;
      }
    },
  };
}

function cancelQuietly(client: Client, workflowId: string, log: Logger) {
  client.workflow
    .getHandle(workflowId)
    .cancel()
    .catch((err: unknown) => log.warn({ workflowId, err }, 'could not cancel a timed-out token workflow'));
}
