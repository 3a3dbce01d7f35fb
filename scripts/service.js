/* global require, process, __dirname, console */
/* eslint-disable @typescript-eslint/no-require-imports -- a CommonJS launcher, loaded before tsx */
// `npm run start:<service>` (package.json): runs `node scripts/service.js api/main`. With NODE_ENV=production it
// runs the compiled JavaScript of `npm run build` (dist/api/main.js, no TypeScript compiler in the process, the
// worker's workflow bundle prebuilt); otherwise the TypeScript source through tsx, as in development.
'use strict';
const { existsSync } = require('node:fs');
const path = require('node:path');

const entry = process.argv[2];
if (!entry) {
  console.error('usage: node scripts/service.js <entry, e.g. api/main>');
  process.exit(2);
}
const root = path.resolve(__dirname, '..');
if (process.env.NODE_ENV === 'production') {
  const compiled = path.join(root, 'dist', `${entry}.js`);
  if (!existsSync(compiled)) {
    console.error(`${compiled} is missing: run npm run build first (NODE_ENV=production runs the build)`);
    process.exit(1);
  }
  runAsMain(compiled);
} else {
  require('tsx/cjs');
  runAsMain(path.join(root, `${entry}.ts`));
}

/** Runs `file` as the process's main module, as `node file` would (`require.main === module` holds in it). */
function runAsMain(file) {
  process.argv.splice(1, 2, file);
  require('node:module').runMain(file);
}
