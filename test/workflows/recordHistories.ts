/**
 * Records one history per branch of CreateWebchatToken and RefreshWebchatToken into test/fixtures/histories,
 * for the replay test (./replay.test.ts).
 * Run it (`npm run record-histories`) only when a workflow change is meant to be incompatible with runs
 * already in flight (deploy such a change by draining the old workers first: a run lives 3 minutes at most);
 * otherwise the replay test is what tells you that a change broke them.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { collectSignals } from '../../lib/fingerprint';
import { openStore } from '../../store/openStore';
import { seedDemoAccounts } from '../../store/seed';
import { FakeFas } from '../helpers/fakeFas';
import { runIssuance, runRefresh } from '../helpers/runIssuance';
import { timeSkippingEnv, workflowBundle } from '../helpers/temporal';
import { widgetHeaders } from '../helpers/widget';

const dir = join(__dirname, '..', 'fixtures', 'histories');

async function main() {
  const [env, store, bundle] = await Promise.all([
    timeSkippingEnv(),
    openStore({ dataDir: null }),
    workflowBundle(),
  ]);
  await seedDemoAccounts(store);
  const ctx = { env, store, bundle };
  const outage = new FakeFas();
  outage.failNext = 3;
  const scenarios = {
    'flag-off-issued': () => runIssuance(ctx, { deploymentKey: 'dk_demo_open' }),
    'flag-on-issued': () =>
      runIssuance(ctx, {
        deploymentKey: 'dk_demo_secure',
        origin: 'http://localhost:8081',
        signals: collectSignals(widgetHeaders(), '203.0.113.7'),
      }),
    'flag-on-fingerprint-failed': () =>
      runIssuance(ctx, { deploymentKey: 'dk_demo_secure', signals: collectSignals({}, '203.0.113.7') }),
    'unknown-key': () => runIssuance(ctx, { deploymentKey: 'dk_unknown' }),
    'origin-not-allowed': () =>
      runIssuance(ctx, {
        deploymentKey: 'dk_demo_secure',
        origin: 'https://evil.test',
        signals: collectSignals(widgetHeaders(), '203.0.113.7'),
      }),
    'fas-outage-recovered': () => runIssuance(ctx, { deploymentKey: 'dk_demo_open' }, outage),
    'refresh-refreshed': async () => {
      const fas = new FakeFas();
      const { result } = await runIssuance(ctx, { deploymentKey: 'dk_demo_open' }, fas);
      if (result.outcome !== 'issued') throw new Error(`expected a token, got ${result.outcome}`);
      return runRefresh(ctx, { deploymentKey: 'dk_demo_open', token: result.token }, fas);
    },
    'refresh-unknown-key': () => runRefresh(ctx, { deploymentKey: 'dk_unknown', token: 'x' }, new FakeFas()),
    'refresh-fingerprint-refused': () =>
      runRefresh(
        ctx,
        { deploymentKey: 'dk_demo_secure', token: 'x', signals: collectSignals({}, '203.0.113.7') },
        new FakeFas(),
      ),
  };
  try {
    for (const [name, run] of Object.entries(scenarios)) {
      const { workflowId } = await run();
      const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
      await writeFile(join(dir, `${name}.json`), historyToJSON(history) + '\n');
      console.log(`recorded ${name}`);
    }
  } finally {
    await env.teardown();
    await store.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
