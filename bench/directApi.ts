/**
 * The benchmark's direct baseline as a process: the API's start-up (`startApi`: the same Koa app, limits and
 * metrics) over `directTokenRuns` in place of Temporal, and the activities built by the worker's start-up
 * (`openActivityDeps`: its own SQLite store under DATA_DIR with the demo accounts, the real FAS at FAS_URL
 * with the worker's credential). The benchmark puts an edge in front.
 */
import { createActivities } from '../activities';
import { loadApiConfig } from '../api/config';
import { startApi } from '../api/startApi';
import { createLogger } from '../lib/logger';
import { loadWorkerConfig } from '../worker/config';
import { loadWorkerSecrets, openActivityDeps } from '../worker/startWorker';
import { directTokenRuns } from './directTokenRuns';

async function main() {
  const config = loadApiConfig();
  const logger = createLogger('direct-api', config.LOG_LEVEL);
  const workerConfig = loadWorkerConfig();
  const secrets = await loadWorkerSecrets(workerConfig);
  const { deps, close } = await openActivityDeps(workerConfig, logger, secrets);
  const runs = directTokenRuns({ activities: createActivities(deps), logger });
  await startApi(config, runs, logger, { stop: close });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
