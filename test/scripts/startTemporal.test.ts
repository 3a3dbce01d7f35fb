import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { access, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Connection } from '@temporalio/client';
import { searchAttributeKeys } from '../../domain/searchAttributes';
import { freePorts, terminate, waitForHttp } from '../../scripts/stack';
import { parseHostPort, temporalDevServerArgs } from '../../scripts/stack/temporalDevServer';

const root = resolve(__dirname, '../..');

void describe('npm run start:temporal', () => {
  let dir: string;
  let child: ChildProcess;
  let address: string;
  let uiPort: number;
  let exited: Promise<number | null>;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'start-temporal-'));
    const [frontend, ui] = await freePorts(2);
    address = `127.0.0.1:${frontend}`;
    uiPort = ui!;
    child = spawn(process.execPath, ['scripts/service.js', 'temporal'], {
      cwd: root,
      env: {
        PATH: process.env.PATH,
        TEMPORAL_ADDRESS: address,
        TEMPORAL_UI_PORT: String(uiPort),
        DATA_DIR: join(dir, 'data'),
      },
      // The dev server logs its shutdown as warnings; a failed start shows as an exit in waitForHttp.
      stdio: 'ignore',
    });
    exited = new Promise((r) => child.once('exit', (code) => r(code)));
  });
  after(async () => {
    await terminate(child);
    await rm(dir, { recursive: true, force: true });
  });

  void test('serves on TEMPORAL_ADDRESS with our search attributes, its UI on TEMPORAL_UI_PORT, SQLite under DATA_DIR', async () => {
    await waitForHttp(`http://127.0.0.1:${uiPort}/`, child);
    const connection = await Connection.connect({ address });
    try {
      await connection.workflowService.getSystemInfo({});
      const { customAttributes } = await connection.operatorService.listSearchAttributes({
        namespace: 'default',
      });
      for (const key of searchAttributeKeys)
        assert.ok(customAttributes?.[key.name], `${key.name} registered`);
    } finally {
      await connection.close();
    }
    await access(join(dir, 'data', 'temporal', 'dev.db'));
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
  });

  void test('the same arguments as make start: the listening address is the only difference', () => {
    const args = (ip: string) =>
      temporalDevServerArgs({
        ip,
        port: 7233,
        uiPort: 8233,
        dataDir: '/d',
        codecEndpoint: 'http://localhost:8888',
      });
    assert.deepEqual(parseHostPort('10.0.0.5:7233'), { host: '10.0.0.5', port: 7233 });
    assert.deepEqual(parseHostPort('[::1]:7233'), { host: '::1', port: 7233 });
    assert.throws(() => parseHostPort('temporal'), /not a host:port/);
    const a = args('127.0.0.1');
    const b = args('10.0.0.5');
    const differ = a.flatMap((v, i) => (v === b[i] ? [] : [i]));
    assert.equal(a.length, b.length);
    assert.deepEqual(differ, [a.indexOf('--ip') + 1]);
    assert.ok(a.includes('/d/temporal/dev.db'));
    assert.ok(a.includes('system.enableEagerWorkflowStart=true'));
  });
});
