/**
 * `npm run faults`: the fault-injection suite. Starts the whole stack (free ports, a temporary data folder) with
 * a small HTTP fault proxy in front of FAS and one in front of SAS, runs steady load through the edge, and
 * injects one fault at a time. Every request is accounted for; the report goes to stdout and docs/faults.md.
 * Exits non-zero when a request was lost or a workflow was left running.
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { format, resolveConfig } from 'prettier';
import { startFaultProxy, type FaultProxy } from './faults/faultProxy';
import { startLoad, type RequestRecord } from './faults/load';
import { postAsService, stackCredentials } from './stack/serviceAuthorization';
import { defaultPorts, freePorts, startStack, terminate, type Stack, type StackPorts } from './stack';

/** Token requests per second; FAULTS_RPS overrides (a shared 2-core machine sustains far less than 20). */
const RPS = Number(process.env.FAULTS_RPS ?? 10);
/** A client's whole budget for one token request, retries included. */
const DEADLINE_MS = 45_000;
/** The longest one exchange may take: the edge's proxy timeout (15 s) plus a margin. */
const ATTEMPT_BUDGET_MS = 16_000;
const STEADY_MS = 5_000;
/** The machine may be shared: the report says how busy it was, since throughput depends on it. */
const loadAtStart = loadavg()[0]!.toFixed(1);
const AFTER_RECOVERY_MS = 8_000;

interface Fault {
  name: string;
  what: string;
  inject(ctx: { stack: Stack; fas: FaultProxy; sas: FaultProxy }): Promise<void>;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const faults: Fault[] = [
  { name: 'none (baseline)', what: 'steady load only', inject: () => sleep(10_000) },
  {
    name: '(a) worker SIGKILL',
    what: 'the API with its worker (the default layout) killed with SIGKILL, restarted 3 s later',
    inject: async ({ stack }) => {
      stack.processes.get('api')?.kill('SIGKILL');
      await sleep(3_000);
      await stack.restart('api');
    },
  },
  {
    name: '(b) FAS 503 burst',
    what: 'every call to FAS answered 503 for 10 s',
    inject: async ({ fas }) => {
      fas.failWith(503);
      await sleep(10_000);
      fas.failWith(null);
    },
  },
  {
    name: '(c) SAS slow',
    what: 'SAS answers 6.5 s late (activity timeout 5 s, FAS→SAS timeout 2 s) for 12 s',
    inject: async ({ sas }) => {
      sas.delay(6_500);
      await sleep(12_000);
      sas.delay(0);
    },
  },
  {
    name: '(d) Temporal restart',
    what: 'the dev server stopped (SIGTERM), restarted 3 s later on the same SQLite file',
    inject: async ({ stack }) => {
      const temporal = stack.processes.get('temporal');
      if (temporal) await terminate(temporal);
      await sleep(3_000);
      await stack.restart('temporal');
    },
  },
  {
    name: '(e) API rolling restart',
    what: 'SIGTERM to the API (drains), a new instance started at once on the same port',
    inject: ({ stack }) => stack.restart('api', { overlap: true }),
  },
];

interface Row {
  fault: string;
  sent: number;
  ok: number;
  clientErrors: number;
  unavailable: number;
  retried: number;
  lost: number;
  maxLatencyMs: number;
  maxAttemptMs: number;
  openAfter: number;
  lostDetails: string[];
}

async function main() {
  const dataDir = await mkdtemp(join(tmpdir(), 'webchat-faults-'));
  const ports = await stackPorts();
  const fas = await startFaultProxy(`http://127.0.0.1:${ports.fas}`);
  const sas = await startFaultProxy(`http://127.0.0.1:${ports.sas}`);
  const logFile = join(dataDir, 'stack.log');
  const log = createWriteStream(logFile);
  console.log(`Starting the stack (data and logs in ${dataDir}) ...`);
  const stack = await startStack({
    ports,
    dataDir,
    logLevel: 'info',
    output: (name, line) => log.write(`[${name}] ${line}\n`),
    // One client IP makes all the load here: the per-IP and per-(key, IP) limits would answer most of it 429.
    env: { RATE_LIMIT_IP_POINTS: '0', RATE_LIMIT_NETWORK_POINTS: '0', RATE_LIMIT_KEY_POINTS: '0' },
    // The worker runs in the API process (the default layout).
    envFor: { api: { FAS_URL: fas.url }, fas: { SAS_URL: sas.url } },
  });
  // Interrupted: no service process may outlive the suite.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => void stack.stop().finally(() => process.exit(130)));
  }
  let failed = false;
  const rows: Row[] = [];
  const connection = await Connection.connect({ address: stack.urls.temporal });
  const client = new Client({ connection });
  try {
    const asFas = stackCredentials(dataDir, 'federated-auth', 'scoped-auth');
    const validate = async (token: string) => {
      const res = await postAsService(
        asFas,
        `${stack.urls.sas}/v1/ScopedAuthTokens/validate`,
        { token },
        { signal: AbortSignal.timeout(10_000) },
      );
      return res.ok && ((await res.json()) as { authorized?: unknown }).authorized === true;
    };
    for (const fault of faults) {
      process.stdout.write(`${fault.name}: ${fault.what} ... `);
      const load = startLoad({
        url: `${stack.urls.edge}/v2/Webchat/Token`,
        requestsPerSecond: RPS,
        deadlineMs: DEADLINE_MS,
        attemptBudgetMs: ATTEMPT_BUDGET_MS,
        body: JSON.stringify({ deploymentKey: 'dk_demo_open' }),
        headers: { 'content-type': 'application/json' },
        validate,
      });
      await sleep(STEADY_MS);
      await fault.inject({ stack, fas, sas });
      await sleep(AFTER_RECOVERY_MS);
      const records = await load.stop();
      const openAfter = await waitForNoOpenWorkflows(client, 90_000);
      const row = summarize(fault.name, records, openAfter);
      rows.push(row);
      if (row.lost > 0 || row.openAfter > 0) failed = true;
      console.log(`sent ${row.sent}, 200 ${row.ok}, 503 ${row.unavailable}, lost ${row.lost}`);
    }
  } finally {
    await connection.close();
    await stack.stop();
    await fas.close();
    await sas.close();
    log.end();
  }
  const reportPath = resolve(__dirname, '..', 'docs', 'faults.md');
  // Formatted as `make lint` checks it, so that a fresh report can be committed as written.
  const report = await format(render(rows), {
    ...(await resolveConfig(reportPath)),
    filepath: reportPath,
  });
  console.log(`\n${report}`);
  await writeFile(reportPath, report);
  if (failed) {
    console.error(`Requests were lost or workflows left running; the stack's logs are in ${logFile}`);
    process.exit(1);
  }
  await rm(dataDir, { recursive: true, force: true });
}

/** Free ports for every service of the stack except the demo page, which the suite does not need. */
async function stackPorts(): Promise<StackPorts> {
  const names = Object.keys(defaultPorts).filter((name) => name !== 'web' && name !== 'webOther');
  const ports = await freePorts(names.length);
  return Object.fromEntries(names.map((name, i) => [name, ports[i]])) as unknown as StackPorts;
}

/** Open workflows once the load has drained; keyed runs outlive a 503'd request by design, so allow them to end. */
async function waitForNoOpenWorkflows(client: Client, timeoutMs: number): Promise<number> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const open = await client.workflow
      .count('ExecutionStatus="Running"')
      .then((c) => c.count)
      .catch(() => Number.NaN);
    if (open === 0 || Date.now() > until) return Number.isNaN(open) ? -1 : open;
    await sleep(1_000);
  }
}

function summarize(fault: string, records: RequestRecord[], openAfter: number): Row {
  const count = (o: RequestRecord['outcome']) => records.filter((r) => r.outcome === o).length;
  const lostDetails = new Map<string, number>();
  for (const r of records) {
    if (r.outcome === 'lost') lostDetails.set(r.detail ?? '?', (lostDetails.get(r.detail ?? '?') ?? 0) + 1);
  }
  return {
    fault,
    sent: records.length,
    ok: count('ok'),
    clientErrors: count('4xx'),
    unavailable: count('503'),
    retried: records.filter((r) => r.attempts > 1).length,
    lost: count('lost'),
    maxLatencyMs: Math.max(0, ...records.map((r) => r.latencyMs)),
    maxAttemptMs: Math.max(0, ...records.map((r) => r.slowestAttemptMs)),
    openAfter,
    lostDetails: [...lostDetails].map(([d, n]) => `${n} × ${d}`),
  };
}

function render(rows: Row[]): string {
  const lines = [
    '# Fault suite: latest report',
    '',
    `Written by \`npm run faults\` (scripts/faults.ts) on ${new Date().toISOString()}, Node ${process.version},`,
    `${cpus().length} CPUs, load average ${loadAtStart} at the start and ${loadavg()[0]!.toFixed(1)} at the end.`,
    `Load: ${RPS} token requests/s through the edge (\`dk_demo_open\`), each with its own`,
    `\`Idempotency-Key\`; a 503 with \`Retry-After\` is retried with the same key after that many seconds while at`,
    `least ${ATTEMPT_BUDGET_MS / 1000} s of the request's ${DEADLINE_MS / 1000} s deadline remain. Each fault is`,
    `injected after ${STEADY_MS / 1000} s of steady load; the load goes on until ${AFTER_RECOVERY_MS / 1000} s after`,
    'recovery. Every 200 is validated with SAS.',
    '',
    '- **200**: a token that SAS validates; **4xx**: a refusal; **503**: a final 503 with `Retry-After` (the',
    '  client ran out of deadline for another retry); **retried**: requests that needed more than one attempt.',
    '- **lost**: hung past the deadline, a 5xx other than 503, a 503 without `Retry-After`, a broken connection,',
    '  or a token that does not validate. Must be 0.',
    '- **max latency**: first attempt to final answer (retries and their waits included); **slowest attempt**:',
    '  the longest single HTTP exchange.',
    '- **open after**: workflows still running once the load drained (polled for up to 90 s). Must be 0.',
    '',
    '| fault | sent | 200 | 4xx | 503 | retried | lost | max latency | slowest attempt | open after |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map(
      (r) =>
        `| ${r.fault} | ${r.sent} | ${r.ok} | ${r.clientErrors} | ${r.unavailable} | ${r.retried} | ${r.lost} | ` +
        `${(r.maxLatencyMs / 1000).toFixed(1)} s | ${(r.maxAttemptMs / 1000).toFixed(1)} s | ${r.openAfter} |`,
    ),
    '',
    '| fault | what was injected |',
    '| --- | --- |',
    ...faults.map((f) => `| ${f.name} | ${f.what} |`),
  ];
  const lost = rows.filter((r) => r.lostDetails.length > 0);
  if (lost.length > 0) {
    lines.push('', '## Lost requests', '');
    for (const r of lost) lines.push(`- ${r.fault}: ${r.lostDetails.join(', ')}`);
  }
  return `${lines.join('\n')}\n`;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
