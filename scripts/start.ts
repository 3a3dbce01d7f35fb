/**
 * `make start` (`node scripts/service.js stack --build=dist`, after `npm run build`): everything on embedded
 * defaults, from the production build, until Ctrl-C or SIGTERM. `make dev` (`--build=tsx --dev`): the same from
 * the TypeScript sources, each service restarting when a file it loads changes.
 */
import { onShutdown } from '../lib/shutdown';
import { demoAccounts, type DemoAccount } from '../store/seed';
import { defaultPorts, startStack } from './stack';

async function main() {
  const dataDir = process.env.DATA_DIR ?? '.data';
  const dev = process.argv.includes('--dev');
  console.log(
    `Starting the Temporal dev server, SAS, FAS, the API with its worker and the edge${dev ? ' (restarting on change)' : ''}...`,
  );
  // The services are out of reach of the terminal's Ctrl-C: this process stops them, last started first, on
  // Ctrl-C or SIGTERM (during the start too). Each drains on the SIGTERM it gets, within 10 s before SIGKILL.
  const starting = new AbortController();
  const started = startStack({
    ports: defaultPorts,
    dataDir,
    build: dev ? 'watch' : 'dist',
    ownProcessGroups: true,
    signal: starting.signal,
  });
  onShutdown(
    async () => {
      starting.abort();
      const stack = await started.catch(() => undefined); // a start cut short has stopped what it started
      await stack?.stop();
    },
    { log: consoleLog, timeoutMs: 120_000 },
  );
  const stack = await started.catch((err: unknown) => {
    if (starting.signal.aborted) return undefined; // Ctrl-C during the start: the shutdown exits
    throw err;
  });
  if (!stack) return;
  console.log(`
Webchat token service is up.

  Public endpoint (edge):  ${stack.urls.edge}/v2/Webchat/Token
  Demo page:               ${stack.urls.web}   (an allowed origin of dk_demo_secure and dk_demo_dpop)
                           ${stack.urls.webOther}   (the same page on an origin only dk_demo_open allows)
  Temporal UI:             ${stack.urls.ui}   (payloads decrypted by the codec server ${stack.urls.codec})
  API (behind the edge):   ${stack.urls.api}    FAS: ${stack.urls.fas}    SAS: ${stack.urls.sas}
  OpenAPI document:        ${stack.urls.edge}/openapi.json
  Prometheus metrics:      ${stack.urls.api}/metrics   ${stack.urls.fas}/metrics   ${stack.urls.sas}/metrics
                           ${stack.urls.workerMetrics ?? '(worker: off)'}/metrics   (the worker's temporal_*)
                           rules and dashboard: deploy/ (docs/operations.md)
  Data folder:             ${dataDir}

Demo deployment keys (created in an empty store):
${demoAccounts.map(describeDemo).join('\n')}

Try:
  curl -s -X POST ${stack.urls.edge}/v2/Webchat/Token -H 'content-type: application/json' -d '{"deploymentKey":"dk_demo_open"}'

Press Ctrl-C to stop.
`);
}

/** One demo account, as the banner lists it: its key, what it turns on, and which pages it answers. */
function describeDemo(demo: DemoAccount): string {
  const traits = [
    demo.webchatSecurity
      ? `webchat-security on (fingerprint sensitivity ${demo.fingerprintSensitivity})`
      : 'webchat-security off',
    ...(demo.keyBinding === 'off' ? [] : [`key binding ${demo.keyBinding} (DPoP)`]),
  ];
  const origins = demo.allowedOrigins.length ? demo.allowedOrigins.join(', ') : 'any origin';
  return `  ${demo.deploymentKey.padEnd(16)} ${traits.join(', ')}\n  ${''.padEnd(16)} ${origins}`;
}

/** The shutdown's lines for a person at a terminal, between the services' own. */
const consoleLog = {
  info: (fields: { signal?: string }, message: string) => {
    if (message === 'shutting down') console.log(`\n${fields.signal ?? ''}: stopping every service...`);
    else if (message === 'stopped') console.log('Every service stopped.');
  },
  error: (fields: { err?: unknown }, message: string) => console.error(message, fields.err ?? ''),
};

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
