import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { afterEach, describe, test } from 'node:test';
import { onShutdown } from '../../lib/shutdown';

/** The shutdown every process uses, its signals from an emitter of the test's own (not the test runner's). */
void describe('onShutdown (lib/shutdown.ts)', () => {
  let remove = () => {};
  afterEach(() => remove());
  const signals = new EventEmitter();

  const recorder = () => {
    const lines: string[] = [];
    const log = {
      info: (_fields: object, message: string) => void lines.push(message),
      error: (_fields: object, message: string) => void lines.push(`error: ${message}`),
    };
    let resolveExit!: (code: number) => void;
    const exited = new Promise<number>((resolve) => (resolveExit = resolve));
    return { lines, log, exit: (code: number) => resolveExit(code), exited };
  };

  test('drains once on SIGTERM and exits 0', async () => {
    const { log, exit, exited, lines } = recorder();
    let closes = 0;
    remove = onShutdown(
      async () => {
        closes++;
        await new Promise((resolve) => setTimeout(resolve, 20));
      },
      { log, exit, signals },
    );
    signals.emit('SIGTERM', 'SIGTERM');
    assert.equal(await exited, 0);
    assert.equal(closes, 1);
    assert.deepEqual(lines, ['shutting down', 'stopped']);
  });

  test('Ctrl-C then SIGTERM (make start): the second signal does not abort the drain', async () => {
    const { log, exit, exited, lines } = recorder();
    let release!: () => void;
    let closes = 0;
    remove = onShutdown(
      () => {
        closes++;
        return new Promise<void>((resolve) => (release = resolve));
      },
      { log, exit, signals },
    );
    signals.emit('SIGINT', 'SIGINT');
    signals.emit('SIGTERM', 'SIGTERM');
    signals.emit('SIGINT', 'SIGINT');
    release();
    assert.equal(await exited, 0);
    assert.equal(closes, 1);
    assert.deepEqual(lines, ['shutting down', 'already shutting down', 'already shutting down', 'stopped']);
  });

  test('exits 1 when the drain fails', async () => {
    const { log, exit, exited, lines } = recorder();
    remove = onShutdown(() => Promise.reject(new Error('boom')), { log, exit, signals });
    signals.emit('SIGTERM', 'SIGTERM');
    assert.equal(await exited, 1);
    assert.deepEqual(lines, ['shutting down', 'error: shutdown failed']);
  });

  test('exits 1 when the drain outlasts its cut-off', async () => {
    const { log, exit, exited, lines } = recorder();
    remove = onShutdown(() => new Promise<void>(() => {}), { log, exit, signals, timeoutMs: 30 });
    signals.emit('SIGTERM', 'SIGTERM');
    assert.equal(await exited, 1);
    assert.deepEqual(lines, ['shutting down', 'error: shutdown did not finish in time']);
  });
});
