/**
 * `npm run start:temporal`: the Temporal dev server on its own, exactly as `make start` runs it (same flags and
 * search attributes, scripts/stack/temporalDevServer.ts), for a deployment that starts each process by hand. It listens
 * on the host:port of TEMPORAL_ADDRESS (the address the API and workers dial), its UI on TEMPORAL_UI_PORT, and
 * keeps its SQLite file under DATA_DIR/temporal/. SIGINT/SIGTERM stop it.
 */
import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { dataDir, parseEnv, port } from '../lib/config';
import { temporalCliPath } from '../lib/temporalBinaries';
import { devServerDbFile, parseHostPort, temporalDevServerArgs } from './stack/temporalDevServer';

const schema = z.object({
  TEMPORAL_ADDRESS: z
    .string()
    .default('127.0.0.1:7233')
    .refine((a) => {
      try {
        parseHostPort(a);
        return true;
      } catch {
        return false;
      }
    }, 'must be host:port'),
  TEMPORAL_UI_PORT: port(8233),
  /** The codec server's port on the operator's machine: the UI decrypts payloads through it. */
  CODEC_PORT: port(8888),
  DATA_DIR: dataDir,
});

async function main() {
  const env = parseEnv(schema);
  const { host, port: frontendPort } = parseHostPort(env.TEMPORAL_ADDRESS);
  const data = resolve(env.DATA_DIR);
  await mkdir(dirname(devServerDbFile(data)), { recursive: true });
  const child = spawn(
    temporalCliPath(),
    temporalDevServerArgs({
      ip: host,
      port: frontendPort,
      uiPort: env.TEMPORAL_UI_PORT,
      dataDir: data,
      codecEndpoint: `http://localhost:${env.CODEC_PORT}`,
    }),
    { stdio: 'inherit' },
  );
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
  console.log(
    `Temporal dev server on ${env.TEMPORAL_ADDRESS}, UI on port ${env.TEMPORAL_UI_PORT}, data in ${devServerDbFile(data)}`,
  );
  child.once('error', (err) => {
    console.error(err.message);
    process.exit(1);
  });
  child.once('exit', (code, signal) => process.exit(code ?? (signal ? 0 : 1)));
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
