import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { quietRuntime, workflowBundle } from '../helpers/temporal';

const dir = join(__dirname, '..', 'fixtures', 'histories');

/**
 * Recorded histories of every branch, replayed against today's workflow code: a change that would break runs
 * already in flight (a reordered or renamed activity, a new step without `patched()`) fails here.
 */
describe('replay of recorded CreateWebchatToken and RefreshWebchatToken histories', async () => {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.json')).sort();

  test('there is a recorded history for each branch', () => {
    assert.deepEqual(files, [
      'fas-outage-recovered.json',
      'flag-off-issued.json',
      'flag-on-fingerprint-failed.json',
      'flag-on-issued.json',
      'origin-not-allowed.json',
      'refresh-fingerprint-refused.json',
      'refresh-refreshed.json',
      'refresh-unknown-key.json',
      'unknown-key.json',
    ]);
  });

  test('the workflow bundle holds no Node-side code and no wire schemas (zod)', async () => {
    const { code } = await workflowBundle();
    for (const folder of ['lib', 'api', 'activities', 'worker', 'services', 'store']) {
      assert.doesNotMatch(code, new RegExp(`"\\./${folder}/`), `${folder}/ is in the workflow bundle`);
    }
    assert.doesNotMatch(code, /node_modules\/zod\//);
  });

  for (const file of files) {
    test(`${file} replays deterministically`, async () => {
      quietRuntime();
      const history = historyFromJSON(JSON.parse(await readFile(join(dir, file), 'utf8')));
      await Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, file);
    });
  }
});
