import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { BenchReport } from '../../bench/report';

const root = resolve(__dirname, '../..');

/**
 * `npm run bench -- --smoke`: the whole harness for a few seconds (both stacks, every scenario), so that it
 * keeps working. No timing is asserted: speed is what the full benchmark reports, not a test.
 */
describe('npm run bench --smoke', () => {
  let dir: string;
  let stdout = '';
  let stderr = '';
  let code: number | null;
  let report: BenchReport;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'webchat-bench-test-'));
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'bench/run.ts', '--smoke', '--out', join(dir, 'report.json')],
      { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    code = await new Promise((r) => child.once('exit', r));
    if (code === 0) report = JSON.parse(await readFile(join(dir, 'report.json'), 'utf8')) as BenchReport;
  });

  after(() => rm(dir, { recursive: true, force: true }));

  test('exits 0 and prints the latency table, the ratios and the per-process table', () => {
    assert.equal(code, 0, stderr.slice(-4000));
    assert.match(
      stdout,
      /^path\s+key\s+load\s+sent\s+ok\/s\s+p50 ms\s+p90 ms\s+p99 ms\s+max ms\s+non2xx\s+errors/m,
    );
    assert.match(stdout, /^orchestrated \/ direct$/m);
    assert.match(stdout, /^CPU % of one core per process/m);
    assert.match(stdout, /JSON report: .*report\.json/);
  });

  test('the JSON report has every scenario of both paths, with latencies, CPU and memory per process', () => {
    const combos = report.scenarios.map((s) => `${s.path} ${s.key} ${s.load.kind}`).sort();
    assert.deepEqual(combos, [
      'direct open rate',
      'direct open saturation',
      'direct secure rate',
      'direct secure saturation',
      'orchestrated open rate',
      'orchestrated open saturation',
      'orchestrated secure rate',
      'orchestrated secure saturation',
    ]);
    for (const s of report.scenarios) {
      const r = s.result;
      assert.ok(r.sent > 0, `${s.path} ${s.key}: sent requests`);
      assert.equal(
        r.ok + r.non2xx,
        Object.values(r.statusCodes).reduce((a, b) => a + b, 0),
      );
      for (const name of [
        'temporal',
        'worker',
        'api',
        'edge',
        'fas',
        'sas',
        'direct-api',
        'direct-edge',
        'loadgen',
      ]) {
        const usage = s.processes[name];
        assert.ok(usage, `${name} is measured`);
        assert.ok(usage.cpuMs >= 0 && usage.peakRssMb > 0, `${name}: CPU and RSS`);
      }
    }
    assert.equal(report.ratios.length, 4);
    assert.ok(report.machine.nproc > 0);
    assert.ok((report.lifetimePeakRssMb.worker ?? 0) > 0);
  });
});
