import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { freePorts, randomPorts, startStack, type Stack } from '../../../scripts/stack';
import { startFaultProxy, type FaultProxy } from '../../../scripts/faults/faultProxy';
import {
  prometheusBinaries,
  ruleFiles,
  rulesDir,
  startPrometheus,
  type AlertState,
  type RunningPrometheus,
} from '../../helpers/prometheus';

const binaries = prometheusBinaries();
const skip = 'skip' in binaries ? binaries.skip : false;

/**
 * The rules of deploy/prometheus with time compressed so that a test can watch them: every `[5m]` window
 * becomes 10 s (ten scrapes at 1 s) and every `for:` 3 s. Expressions, thresholds and labels are the shipped
 * ones, so an alert that never fires here would not fire in production either.
 */
function compressed(rules: string): string {
  const out = rules.replace(/\[5m\]/g, '[10s]').replace(/^(\s+for:) \d+m$/gm, '$1 3s');
  assert.doesNotMatch(out, /\[\d+m\]/, 'a rule window other than 5m: compress it too');
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A real Prometheus (Debian's package) scrapes the running stack (API, FAS, SAS and the worker's Temporal
 * metrics, each on a free port) every second with the shipped rules. With steady traffic through the edge, FAS
 * starts answering 503 (a fault proxy between the worker and FAS, scripts/faults/faultProxy.ts): the FAS alert and
 * the token error alert must fire, as seen through Prometheus's HTTP API, and resolve once FAS answers again.
 */
describe('alerts fire and resolve on a live stack', { skip, timeout: 150_000 }, () => {
  let stack: Stack;
  let dataDir: string;
  let fas: FaultProxy;
  let prometheus: RunningPrometheus;
  const logs: string[] = [];
  let sending = true;
  let traffic: Promise<void> = Promise.resolve();
  const statuses = new Map<number, number>();

  before(async () => {
    if (!('prometheus' in binaries)) return;
    dataDir = await mkdtemp(join(tmpdir(), 'webchat-alerts-'));
    const ports = await randomPorts();
    const [prometheusPort] = await freePorts(1);
    fas = await startFaultProxy(`http://127.0.0.1:${ports.fas}`);
    stack = await startStack({
      ports,
      dataDir,
      output: (name, line) => logs.push(`[${name}] ${line}`),
      envFor: {
        // The API runs the worker: its FAS calls go through the fault proxy. A short deadline so the 503s of the
        // fault come quickly; no per-client limits for the steady traffic of one client.
        api: {
          FAS_URL: fas.url,
          TOKEN_DEADLINE_MS: '3000',
          RATE_LIMIT_IP_POINTS: '0',
          RATE_LIMIT_KEY_POINTS: '0',
        },
      },
    });
    for (const file of ruleFiles) {
      await writeFile(join(dataDir, file), compressed(await readFile(join(rulesDir, file), 'utf8')));
    }
    const job = (name: string, port: number | undefined) =>
      `  - job_name: webchat-${name}\n    static_configs: [{ targets: ['127.0.0.1:${port}'] }]\n`;
    prometheus = await startPrometheus({
      binary: binaries.prometheus,
      dir: dataDir,
      port: prometheusPort!,
      output: (line) => logs.push(`[prometheus] ${line}`),
      config:
        'global: { scrape_interval: 1s, evaluation_interval: 1s }\n' +
        `rule_files: [${ruleFiles.map((f) => `'${join(dataDir, f)}'`).join(', ')}]\n` +
        'scrape_configs:\n' +
        job('api', ports.api) +
        job('fas', ports.fas) +
        job('sas', ports.sas) +
        job('worker', ports.workerMetrics),
    });
    // Two clients in a loop, about 10 requests a second in all: enough series for every ratio, little CPU.
    const client = async () => {
      while (sending) {
        const res = await fetch(`${stack.urls.edge}/v2/Webchat/Token`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ deploymentKey: 'dk_demo_open' }),
          signal: AbortSignal.timeout(10_000),
        }).catch(() => undefined);
        await res?.arrayBuffer();
        if (res) statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        await sleep(200);
      }
    };
    traffic = Promise.all([client(), client()]).then(() => undefined);
  });

  after(async () => {
    sending = false;
    await traffic;
    await prometheus?.stop();
    await stack?.stop();
    await fas?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  /** Polls Prometheus's alerts until `done` holds for them; fails with what it saw last after `timeoutMs`. */
  const waitForAlerts = async (what: string, done: (alerts: AlertState[]) => boolean, timeoutMs: number) => {
    const until = Date.now() + timeoutMs;
    let last: AlertState[] = [];
    while (Date.now() < until) {
      last = await prometheus.alerts();
      if (done(last)) return last;
      await sleep(500);
    }
    assert.fail(
      `${what} within ${timeoutMs} ms; alerts: ${JSON.stringify(last)}\n${logs.slice(-30).join('\n')}`,
    );
  };
  const firing = (alerts: AlertState[], name: string) =>
    alerts.some((a) => a.alertname === name && a.state === 'firing');

  /** Polls an instant query until `done` holds for its value; fails after `timeoutMs`. */
  const waitForQuery = async (expr: string, done: (v: number | undefined) => boolean, timeoutMs: number) => {
    const until = Date.now() + timeoutMs;
    while (!done(await prometheus.query(expr))) {
      assert.ok(Date.now() < until, `${expr} not as expected:\n${logs.slice(-30).join('\n')}`);
      await sleep(500);
    }
  };

  test('every target is scraped and, while all is well, no alert fires', async () => {
    await waitForQuery('sum(up{job=~"webchat-.+"})', (v) => v === 4, 30_000);
    // Prometheus has seen tokens issued (on a loaded machine the first runs take a while).
    await waitForQuery('sum(webchat:token_outcomes:rate5m{outcome="issued"})', (v) => (v ?? 0) > 0, 60_000);
    // The first runs of a fresh worker can be slow (p99 over its objective): wait for the windows to hold
    // only steady traffic.
    await waitForAlerts('alerts while all is well', (a) => a.length === 0, 30_000);
    assert.ok((statuses.get(200) ?? 0) > 0, `the traffic gets tokens: ${JSON.stringify([...statuses])}`);
  });

  test('every query of the Grafana dashboard is valid PromQL, and the traffic panels have data', async () => {
    const dashboard = JSON.parse(
      await readFile(join(rulesDir, '..', 'grafana', 'dashboards', 'webchat.json'), 'utf8'),
    ) as {
      panels: { title: string; targets?: { expr: string }[] }[];
    };
    const queries = dashboard.panels.flatMap((p) =>
      (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })),
    );
    assert.ok(queries.length >= 15, `the dashboard has its queries (${queries.length})`);
    // Healthy traffic: only the failure and 429/503 series may be empty. A panel's first samples can lag the
    // traffic by a few scrapes on a busy machine (a rate needs two), so each gets a little time.
    const must = [
      'Issuances and refreshes by outcome',
      'Latency of POST',
      'FAS and SAS latency',
      'Scrape targets',
    ];
    let empty: string[] = [];
    for (const until = Date.now() + 30_000; ; await sleep(1000)) {
      empty = [];
      for (const { panel, expr } of queries) {
        if ((await prometheus.query(expr)) === undefined) empty.push(`${panel}: ${expr}`);
      }
      if (!must.some((m) => empty.some((e) => e.startsWith(m))) || Date.now() > until) break;
    }
    for (const panel of must) {
      assert.ok(!empty.some((e) => e.startsWith(panel)), `${panel} has no data: ${empty.join('\n')}`);
    }
  });

  test('FAS answering 503: WebchatFasErrorRatioHigh and WebchatTokenErrorRatioHigh fire', async () => {
    fas.failWith(503);
    const started = Date.now();
    const alerts = await waitForAlerts(
      'the FAS and token error alerts did not fire',
      (a) => firing(a, 'WebchatFasErrorRatioHigh') && firing(a, 'WebchatTokenErrorRatioHigh'),
      40_000,
    );
    const fasAlert = alerts.find((a) => a.alertname === 'WebchatFasErrorRatioHigh');
    assert.equal(fasAlert?.labels.severity, 'page');
    assert.ok(fas.stats().failed > 0);
    assert.ok((statuses.get(503) ?? 0) > 0, 'the widgets got 503 meanwhile');
    logs.push(`[test] alerts fired ${Date.now() - started} ms after the fault`);
  });

  test('FAS answering again: both alerts resolve', async () => {
    fas.failWith(null);
    await waitForAlerts(
      'the alerts did not resolve',
      (a) =>
        !a.some(
          (x) => x.alertname === 'WebchatFasErrorRatioHigh' || x.alertname === 'WebchatTokenErrorRatioHigh',
        ),
      40_000,
    );
  });
});
