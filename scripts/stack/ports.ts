import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';

export interface StackPorts {
  edge: number;
  api: number;
  fas: number;
  sas: number;
  temporal: number;
  ui: number;
  codec: number;
  /** The worker's Prometheus endpoint (Temporal runtime metrics); without it the worker serves none. */
  workerMetrics?: number;
  /**
   * The demo page (web/): `web` serves it on an origin `dk_demo_secure` allows (http://localhost:8081), `webOther`
   * on one only `dk_demo_open` (any origin) allows. Without both, the page is not started.
   */
  web?: number;
  webOther?: number;
}

export const defaultPorts: StackPorts = {
  edge: 8080,
  api: 3000,
  fas: 3001,
  sas: 3002,
  temporal: 7233,
  ui: 8233,
  codec: 8888,
  workerMetrics: 9464,
  web: 8081,
  webOther: 8082,
};

/**
 * Free ports for every service, for tests and benchmarks that must not collide with `make start`. The demo page
 * is left out: its allowed origin is a fixed port, so the browser tests choose its ports themselves.
 */
export async function randomPorts(): Promise<StackPorts> {
  const keys = (Object.keys(defaultPorts) as (keyof StackPorts)[]).filter(
    (k) => k !== 'web' && k !== 'webOther',
  );
  const ports = await freePorts(keys.length);
  return Object.fromEntries(keys.map((k, i) => [k, ports[i]!])) as unknown as StackPorts;
}

/** Both ports of the demo page, or undefined when it is not to be started. */
export function webPorts(ports: StackPorts): [number, number] | undefined {
  return ports.web !== undefined && ports.webOther !== undefined ? [ports.web, ports.webOther] : undefined;
}

const handedOut = new Set<number>();

/**
 * Free TCP ports on 127.0.0.1, for tests that must not collide with a running `make start`. They are picked at
 * random *below* the kernel's ephemeral range: a port the kernel hands out for `listen(0)` can be taken again,
 * before the service binds it, by one of the many outgoing connections a stack opens (EADDRINUSE, seen in the
 * bench smoke test), while outgoing connections never use a port below that range. Ports returned by earlier
 * calls of this process are not returned again; other processes are not coordinated with (`npm test` runs one
 * test file at a time).
 */
export async function freePorts(count: number): Promise<number[]> {
  const ephemeralLow = await readFile('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
    .then((text) => Number(text.trim().split(/\s+/)[0]) || 32768)
    .catch(() => 32768);
  const low = 10_000;
  const high = Math.max(low + 1000, ephemeralLow);
  const held: ReturnType<typeof createServer>[] = [];
  const ports: number[] = [];
  try {
    for (let attempt = 0; ports.length < count; attempt++) {
      if (attempt > count * 50) throw new Error(`no ${count} free ports between ${low} and ${high}`);
      const port = low + Math.floor(Math.random() * (high - low));
      if (handedOut.has(port) || ports.includes(port)) continue;
      const server = createServer();
      const bound = await new Promise<boolean>((resolve) => {
        server.once('error', () => resolve(false));
        server.listen(port, '127.0.0.1', () => resolve(true));
      });
      if (!bound) continue;
      held.push(server);
      ports.push(port);
    }
  } finally {
    await Promise.all(held.map((s) => new Promise((r) => s.close(r))));
  }
  for (const port of ports) handedOut.add(port);
  return ports;
}
