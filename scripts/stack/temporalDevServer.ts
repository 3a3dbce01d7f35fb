/**
 * The Temporal dev server as the product runs it: `make start` (scripts/stack/) and `npm run start:temporal`
 * (scripts/start-temporal.ts) both start it with these arguments, so the two cannot drift.
 */
import { join } from 'node:path';
import { devServerSearchAttributeArgs } from '../../domain/searchAttributes';

export interface DevServerOptions {
  /** Address the frontend (gRPC) listens on. */
  ip: string;
  port: number;
  uiPort: number;
  /** The SQLite file goes to `<dataDir>/temporal/dev.db`. */
  dataDir: string;
  /** The codec server the UI decrypts payloads through, in the operator's browser. */
  codecEndpoint: string;
}

export const devServerDbFile = (dataDir: string) => join(dataDir, 'temporal', 'dev.db');

/** Arguments of `temporal` for the dev server: SQLite file, UI, our search attributes and dynamic config. */
export function temporalDevServerArgs(opts: DevServerOptions): string[] {
  return [
    'server',
    'start-dev',
    '--ip',
    opts.ip,
    '--port',
    String(opts.port),
    '--ui-port',
    String(opts.uiPort),
    '--namespace',
    'default',
    '--db-filename',
    devServerDbFile(opts.dataDir),
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
    '--ui-codec-endpoint',
    opts.codecEndpoint,
    ...devServerSearchAttributeArgs,
  ];
}

/** `host:port` (or `[v6]:port`) as in TEMPORAL_ADDRESS. */
export function parseHostPort(address: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(address);
  const port = Number(match?.[3]);
  if (!match || port < 1 || port > 65535) throw new Error(`not a host:port: ${address}`);
  return { host: match[1] ?? match[2]!, port };
}
