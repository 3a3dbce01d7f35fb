import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { execFileAsync, prometheusBinaries, ruleFiles, rulesDir } from '../../helpers/prometheus';

const binaries = prometheusBinaries();
const skip = 'skip' in binaries ? binaries.skip : false;

/** The recording and alert rules of deploy/prometheus, checked and unit-tested by promtool itself. */
describe('Prometheus rules (promtool)', { skip }, () => {
  const promtool = 'promtool' in binaries ? binaries.promtool : '';

  test('promtool check rules: every rule file parses, every expression is valid PromQL', async () => {
    const { stdout } = await execFileAsync(promtool, [
      'check',
      'rules',
      ...ruleFiles.map((f) => join(rulesDir, f)),
    ]);
    assert.match(stdout, /SUCCESS: 13 rules found[\s\S]*SUCCESS: 8 rules found/);
  });

  test('promtool test rules: each alert fires on synthetic series that break its objective, and only then', async () => {
    const { stdout } = await execFileAsync(promtool, [
      'test',
      'rules',
      join(rulesDir, 'tests', 'alerts.test.yml'),
    ]);
    assert.match(stdout, /SUCCESS/);
  });

  test('promtool check config: the Prometheus of docker-compose.yml loads, with these rule files', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'webchat-promconfig-'));
    try {
      // The compose file mounts the rules at /etc/prometheus/rules; here they are read where they are.
      const config = (await readFile(join(rulesDir, 'prometheus.yml'), 'utf8')).replaceAll(
        '/etc/prometheus/rules/',
        `${rulesDir}/`,
      );
      await writeFile(join(dir, 'prometheus.yml'), config);
      const { stdout } = await execFileAsync(promtool, ['check', 'config', join(dir, 'prometheus.yml')]);
      assert.match(stdout, /SUCCESS: 2 rule files found/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
