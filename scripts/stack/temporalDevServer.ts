import { join, resolve } from 'node:path';
import { devServerSearchAttributeArgs } from '../../domain/searchAttributes';

/**
 * The arguments of `temporal server start-dev` for this product: its SQLite file under the data folder, the
 * UI with our codec server, our search attributes, and the flags the token runs are measured with.
 */
export function devServerArgs(opts: {
  temporal: number;
  ui: number;
  codec: number;
  dataDir: string;
}): string[] {
  return [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(opts.temporal),
    '--ui-port',
    String(opts.ui),
    '--namespace',
    'default',
    '--db-filename',
    join(resolve(opts.dataDir), 'temporal', 'dev.db'),
    '--log-level',
    'warn',
    // WAL lets readers and the writer proceed together; NORMAL syncs at checkpoints, not every commit.
    // Safe against a crash of the dev server (not of the machine): measured 2.4x the default's throughput.
    '--sqlite-pragma',
    'journal_mode=wal',
    '--sqlite-pragma',
    'synchronous=normal',
    // A worker beside the client (API_RUN_WORKER) gets a run's first task with the start. Eager activity
    // dispatch (a worker gets the activity task its own workflow task schedules) only matters for regular
    // activities, which the token workflows no longer use; it stays on for any that are added.
    '--dynamic-config-value',
    'system.enableEagerWorkflowStart=true',
    '--dynamic-config-value',
    'system.enableActivityEagerExecution=true',
    // The UI decrypts payloads through our codec server, in the operator's browser.
    '--ui-codec-endpoint',
    `http://localhost:${opts.codec}`,
    ...devServerSearchAttributeArgs,
  ];
}
