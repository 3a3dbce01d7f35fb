/**
 * The Temporal dev server as the product runs it: `make start` (scripts/stack/) and `npm run start:temporal`
 * (scripts/start-temporal.ts) both start it with these arguments, so the two cannot drift.
 */
import { join } from 'node:path';
import { devServerSearchAttributeArgs } from '../../domain/searchAttributes';
import { devServerDynamicConfigArgs, devServerSqliteArgs } from '../../lib/devServerFlags';

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
    ...devServerSqliteArgs,
    ...devServerDynamicConfigArgs,
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
