import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { rungs } from '../../bench/floor/ladder';
import { loadLabel, type BenchReport } from '../../bench/report';

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
    assert.match(stdout, /^orchestrated \/ direct \(\/d\) and orchestrated \/ floor \(\/f\)$/m);
    assert.match(stdout, /^CPU % of one core per process/m);
    assert.match(stdout, /JSON report: .*report\.json/);
    assert.match(stdout, /Latency plot: .*report\.svg/);
    assert.match(stdout, /^peak RSS MB by build/m);
  });

  test('the JSON report has every scenario of the three paths, with latencies, CPU and memory per process', () => {
    const combos = report.scenarios
      .filter((s) => s.path !== 'ladder')
      .map((s) => `${s.path} ${s.key} ${s.load.kind === 'rate' ? 'rate' : `c=${s.load.connections}`}`)
      .sort();
    assert.deepEqual(combos, [
      'direct open c=1',
      'direct open c=4',
      'direct open rate',
      'direct secure c=4',
      'direct secure rate',
      'floor null c=1',
      'floor null c=4',
      'floor null rate',
      'orchestrated open c=1',
      'orchestrated open c=4',
      'orchestrated open rate',
      'orchestrated secure c=4',
      'orchestrated secure rate',
    ]);
    for (const s of report.scenarios) {
      const r = s.result;
      assert.ok(r.sent > 0, `${s.path} ${s.key}: sent requests`);
      assert.equal(
        r.ok + r.non2xx,
        Object.values(r.statusCodes).reduce((a, b) => a + b, 0),
      );
      if (s.path === 'floor' || s.path === 'ladder') {
        assert.ok(r.ok > 0, `${s.path} ${s.rung ?? ''} ${loadLabel(s.load)}: completed runs`);
      }
      // The floor and its ladder are measured on the dev server and their own process only.
      const measured =
        s.path === 'floor' || s.path === 'ladder'
          ? ['temporal', 'floor', 'loadgen']
          : ['temporal', 'api', 'edge', 'fas', 'sas', 'direct-api', 'direct-edge', 'floor', 'loadgen'];
      for (const name of measured) {
        const usage = s.processes[name];
        assert.ok(usage, `${name} is measured`);
        assert.ok(usage.cpuMs >= 0 && usage.peakRssMb > 0, `${name}: CPU and RSS`);
      }
      if (s.path === 'floor') assert.equal(s.processes.worker, undefined, 'the floor leaves the product out');
    }
    assert.equal(report.ratios.length, 5);
    for (const ratio of report.ratios) {
      assert.ok(ratio.direct, `${ratio.key} ${ratio.load}: orchestrated / direct`);
      assert.ok(ratio.floor, `${ratio.key} ${ratio.load}: orchestrated / floor`);
    }
    assert.ok(report.machine.nproc > 0);
    assert.ok((report.lifetimePeakRssMb.api ?? 0) > 0);
    assert.ok((report.lifetimePeakRssMb.floor ?? 0) > 0);
    assert.equal(report.options.build, 'dist', 'the production build, as make start runs it');
    assert.deepEqual(Object.keys(report.peakRssByBuild), ['dist'], 'smoke: only the build it ran');
    assert.ok((report.peakRssByBuild.dist?.api ?? 0) > 0);
    assert.equal(report.peakRssByBuild.dist?.worker, undefined, 'the worker runs in the API');
    assert.equal(report.peakRssByBuild.dist?.floor, undefined, 'by build: the product processes only');
  });

  test('the floor ladder: every rung at saturation and one at a time, in its own table', () => {
    const ladder = report.scenarios.filter((s) => s.path === 'ladder');
    assert.deepEqual(
      [...new Set(ladder.map((s) => s.rung))],
      rungs.map((r) => r.name),
    );
    assert.deepEqual(
      ladder.map((s) => loadLabel(s.load)),
      rungs.flatMap(() => ['sat c=4', 'sat c=1']),
    );
    assert.match(stdout, /^floor ladder \(each rung adds one feature/m);
    for (const { name } of rungs)
      assert.match(stdout, new RegExp(`^${name.replace(/[+().,]/g, '\\$&')}\\s`, 'm'));
  });

  test('writes the latency plot beside the report: one panel per key, a line per path', async () => {
    const svg = await readFile(join(dir, 'report.svg'), 'utf8');
    assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    assert.match(svg, /open key/);
    assert.match(svg, /secure key/);
    for (const path of ['orchestrated', 'direct', 'floor']) assert.match(svg, new RegExp(`<title>${path} `));
  });
});
