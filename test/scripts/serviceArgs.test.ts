import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { serviceArgs, serviceEntries, type ServiceName } from '../../scripts/stack';

const root = resolve(__dirname, '../..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  scripts: Record<string, string>;
};
const makefile = readFileSync(join(root, 'Makefile'), 'utf8');

/** One way to launch a process: scripts/stack/serviceArgs.ts, behind npm, make, the stack and the tests. */
void describe('launching a process (scripts/stack/serviceArgs.ts, scripts/service.js)', () => {
  test('every entry module exists', () => {
    for (const [name, entry] of Object.entries(serviceEntries)) {
      assert.ok(existsSync(join(root, `${entry}.ts`)), `${name}: ${entry}.ts`);
    }
  });

  test('every npm start:* script, rotate-keys, make start and make dev go through scripts/service.js', () => {
    const launched = Object.entries(pkg.scripts).filter(([name]) => name.startsWith('start:'));
    assert.ok(launched.length >= 6);
    for (const [name, command] of [...launched, ['rotate-keys', pkg.scripts['rotate-keys'] ?? '']]) {
      const service = /^node scripts\/service\.js (\S+)$/.exec(command ?? '')?.[1];
      assert.ok(service && service in serviceEntries, `${name}: ${command}`);
    }
    assert.match(makefile, /^start:.*\n\tnode scripts\/service\.js stack --build=dist$/m);
    assert.match(makefile, /^dev:.*\n\tnode scripts\/service\.js stack --build=tsx --dev$/m);
  });

  test('node arguments for each build', () => {
    assert.deepEqual(serviceArgs('api', 'tsx'), ['--import', 'tsx', join(root, 'api/main.ts')]);
    assert.deepEqual(serviceArgs('stack', 'tsx', ['--dev']), [
      '--import',
      'tsx',
      join(root, 'scripts/start.ts'),
      '--dev',
    ]);
    const watch = serviceArgs('edge', 'watch');
    assert.deepEqual(watch.slice(1), ['watch', '--clear-screen=false', join(root, 'edge/main.ts')]);
    if (existsSync(join(root, 'dist', 'api', 'main.js'))) {
      assert.deepEqual(serviceArgs('api', 'dist'), [join(root, 'dist', 'api', 'main.js')]);
    } else {
      assert.throws(() => serviceArgs('api', 'dist'), /run npm run build first/);
    }
  });

  test('scripts/service.js refuses an unknown service or build, naming the services', async () => {
    for (const args of [['nonesuch'], ['api', '--build=webpack'], []]) {
      const failed = await promisify(execFile)(process.execPath, ['scripts/service.js', ...args], {
        cwd: root,
      }).then(
        () => assert.fail(`${args.join(' ')} ran`),
        (err: { code?: number; stderr?: string }) => err,
      );
      assert.equal(failed.code, 2);
      assert.match(failed.stderr ?? '', /usage: node scripts\/service\.js <temporal\|sas\|/);
    }
  });

  test('scripts/service.js runs the entry as the main module, with its own arguments', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['scripts/service.js', 'rotate-keys' satisfies ServiceName, '--build=tsx', '--no-such-flag'],
      { cwd: root, env: { PATH: process.env.PATH } },
    ).catch((err: { stdout?: string; stderr?: string }) => ({ stdout: `${err.stdout}${err.stderr}` }));
    // rotate-keys saw exactly its own argument (not the service name or --build), and said so.
    assert.match(stdout, /Unknown argument --no-such-flag; usage: rotate-keys \[--retire\]/);
  });
});
