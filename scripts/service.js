/* global require, process, __dirname, console */
/* eslint-disable @typescript-eslint/no-require-imports -- a CommonJS launcher, loaded before tsx */
// `node scripts/service.js <service> [--build=dist|tsx] [args...]`: runs one process of the product in this very
// process, as `npm run start:<service>`, `make start` and `make dev` do. Which module each service is, and where
// its build is, is scripts/stack/serviceArgs.ts (the stack and the tests launch through it too). `dist` runs the
// compiled JavaScript of `npm run build` (no TypeScript compiler in the process); `tsx` the TypeScript sources.
// Without --build: dist under NODE_ENV=production, otherwise tsx.
'use strict';
const { existsSync } = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const [service, ...rest] = process.argv.slice(2);
const buildFlag = rest.find((arg) => arg.startsWith('--build='));
const args = rest.filter((arg) => arg !== buildFlag);
const defaultBuild = process.env.NODE_ENV === 'production' ? 'dist' : 'tsx';
const build = buildFlag ? buildFlag.slice('--build='.length) : defaultBuild;
if (!service || (build !== 'dist' && build !== 'tsx')) usage();

if (build === 'tsx') require('tsx/cjs');
const launcher =
  build === 'dist' ? path.join(root, 'dist', 'scripts', 'stack', 'serviceArgs.js') : './stack/serviceArgs.ts';
if (build === 'dist' && !existsSync(launcher)) fail(`${launcher} is missing: run npm run build first`);
const { isServiceName, serviceEntryFile } = require(launcher);
if (!isServiceName(service)) usage();
let file;
try {
  file = serviceEntryFile(service, build);
} catch (err) {
  fail(err.message);
}
// As `node <file> [args...]` would: `require.main === module` holds in it, and it sees only its own arguments.
process.argv.splice(1, process.argv.length - 1, file, ...args);
require('node:module').runMain(file);

function usage() {
  console.error(
    'usage: node scripts/service.js <temporal|sas|fas|codec|worker|api|edge|web|stack|rotate-keys> ' +
      '[--build=dist|tsx] [args...]',
  );
  process.exit(2);
}

function fail(message) {
  console.error(message);
  process.exit(1);
}
