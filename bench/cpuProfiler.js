/* global require, process, setInterval */
/* eslint-disable @typescript-eslint/no-require-imports -- a CommonJS preload, loaded before tsx */
// Preloaded into every service by `npm run bench -- --cpu-prof <dir>` through NODE_OPTIONS=--require (Node
// refuses --cpu-prof there): profiles the main thread and writes <dir>/<entry>-<pid>.cpuprofile when the process
// exits, for Chrome DevTools or speedscope.
'use strict';
const inspector = require('node:inspector');
const fs = require('node:fs');
const path = require('node:path');

const { isMainThread, threadId } = require('node:worker_threads');

const dir = process.env.BENCH_CPU_PROF_DIR;
if (dir) {
  const session = new inspector.Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 500 });
  session.post('Profiler.start');
  const entry = path
    .relative(process.cwd(), process.argv[1] || 'node')
    .replace(/\.[cm]?[jt]s$/, '')
    .replace(/[\\/]/g, '-')
    .concat(isMainThread ? '' : `-thread${threadId}`);
  if (!isMainThread) {
    // A worker thread (the Temporal workflow sandbox) is terminated without an 'exit' event: write a profile
    // of each 10 s window instead (<entry>-thread<id>-<pid>-<n>.cpuprofile; the last, partial window is lost).
    let n = 0;
    setInterval(() => {
      session.post('Profiler.stop', (err, result) => {
        if (!err)
          fs.writeFileSync(
            path.join(dir, `${entry}-${process.pid}-${n++}.cpuprofile`),
            JSON.stringify(result.profile),
          );
        session.post('Profiler.start');
      });
    }, 10_000).unref();
  }
  process.on('exit', () => {
    // The in-thread session answers synchronously, so the file is written before the process is gone.
    session.post('Profiler.stop', (err, result) => {
      if (!err)
        fs.writeFileSync(
          path.join(dir, `${entry}-${process.pid}.cpuprofile`),
          JSON.stringify(result.profile),
        );
    });
  });
}
