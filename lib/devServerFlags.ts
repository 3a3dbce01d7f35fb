/**
 * The dev server's performance flags (`temporal server start-dev`), in one place for `make start`, `npm run
 * start:temporal`, the benchmark (scripts/stack/temporalDevServer.ts) and the tests that run a dev server
 * (test/helpers/temporal.ts).
 *
 * - `system.forceSearchAttributesCacheRefreshOnRead=false`: the CLI sets it true, so every search-attribute
 *   lookup (each start with search attributes, each upsert) re-reads cluster metadata from SQLite. False keeps the
 *   server's default cache (refreshed every few seconds); our attributes are registered before the first run, so
 *   nothing waits on a refresh. Measured in bench/README.md.
 * - Eager workflow start: a worker beside the client (API_RUN_WORKER) gets a run's first task with the start.
 * - Eager activity dispatch (a worker gets the activity task its own workflow task schedules) only matters for
 *   regular activities, which the token workflows no longer use; it stays on for any that are added.
 */
export const devServerDynamicConfigArgs = [
  '--dynamic-config-value',
  'system.forceSearchAttributesCacheRefreshOnRead=false',
  '--dynamic-config-value',
  'system.enableEagerWorkflowStart=true',
  '--dynamic-config-value',
  'system.enableActivityEagerExecution=true',
];

/**
 * WAL lets readers and the writer proceed together; NORMAL syncs at checkpoints, not every commit. Safe against a
 * crash of the dev server (not of the machine): measured 2.4x the default's throughput. Only for a dev server
 * with a database file.
 */
export const devServerSqliteArgs = [
  '--sqlite-pragma',
  'journal_mode=wal',
  '--sqlite-pragma',
  'synchronous=normal',
];
