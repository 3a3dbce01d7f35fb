import { parseArgs } from 'node:util';
import { openStore } from '../store/openStore';
import { StoreError } from '../store/storeError';
import { openSessionStore } from '../store/openSessionStore';
import { type Command, commands, type Output, type SessionCommand } from './commands';
import { type AdminConfig, loadAdminConfig } from './config';
import { UsageError } from './usageError';

export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  env: NodeJS.ProcessEnv;
}

/** Exit codes: 0 done; 1 the operation failed (unknown account or key, store unreachable); 2 bad input. */
const EXIT = { ok: 0, failed: 1, badInput: 2 } as const;

const PROGRAM = 'npm run admin --';

/**
 * The admin CLI: `main(['account', 'create', '--ttl', '900'], io)`. Every argument is checked before the store
 * is opened, and each command is one store call (one transaction), so a bad input writes nothing. Returns the
 * exit code; never throws.
 */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  const json = argv.includes('--json');
  try {
    if (argv.length === 0 || ['help', '--help', '-h'].includes(argv[0] ?? '')) {
      if (argv.length === 0) throw new UsageError('No command given');
      io.stdout(`${usage()}\n`);
      return EXIT.ok;
    }
    const command = commands.find((c) => c.name === `${argv[0]} ${argv[1] ?? ''}`);
    if (!command) throw new UsageError(`Unknown command: ${argv.slice(0, 2).join(' ')}`);
    const { values, positionals } = parse(command, argv.slice(2));
    if (values.help) {
      io.stdout(`${commandUsage(command)}\n`);
      return EXIT.ok;
    }
    const config = loadConfig(io.env);
    const output = await run(command, values, positionals, config);
    io.stdout(json ? `${JSON.stringify(output.json, null, 2)}\n` : `${output.text}\n`);
    return EXIT.ok;
  } catch (err) {
    const { code, message, exit, issues } = describe(err);
    if (json) {
      io.stderr(`${JSON.stringify({ error: { code, message, ...(issues.length ? { issues } : {}) } })}\n`);
    } else {
      io.stderr(`error: ${message}\n`);
      if (code === 'usage') io.stderr(`Run \`${PROGRAM} help\` for the commands and their options.\n`);
    }
    return exit;
  }
}

/** Checks the arguments, then opens the store the command works on, runs it and closes the store. */
async function run(
  command: Command | SessionCommand,
  values: Parameters<Command['prepare']>[0],
  positionals: readonly string[],
  config: AdminConfig,
): Promise<Output> {
  if (command.store === 'sessions') {
    const work = command.prepare(values, positionals);
    const store = await openSessionStore({ dataDir: config.DATA_DIR, databaseUrl: config.DATABASE_URL });
    try {
      return await work(store);
    } finally {
      await store.close();
    }
  }
  const work = command.prepare(values, positionals);
  // The store the worker uses: DATABASE_URL, else the SQLite file under DATA_DIR, which the running services
  // have open too, so the very next token request sees a change.
  const store = await openStore({ dataDir: config.DATA_DIR, databaseUrl: config.DATABASE_URL });
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}

function parse(command: Command | SessionCommand, args: readonly string[]) {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      options: { ...command.options, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    // parseArgs names the option in its message; its code (ERR_PARSE_ARGS_*) is of no use to an operator.
    throw new UsageError(`${command.name}: ${(err as Error).message}`);
  }
  if (parsed.positionals.length !== command.args.length) {
    throw new UsageError(
      `${command.name} takes ${command.args.length === 0 ? 'no arguments' : command.args.join(' ')}, ` +
        `got ${parsed.positionals.length === 0 ? 'none' : parsed.positionals.join(' ')}`,
    );
  }
  return parsed;
}

function loadConfig(env: NodeJS.ProcessEnv) {
  try {
    return loadAdminConfig(env);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

function describe(err: unknown): {
  code: string;
  message: string;
  exit: number;
  issues: readonly { path: string; message: string }[];
} {
  if (err instanceof UsageError)
    return { code: err.code, message: err.message, exit: EXIT.badInput, issues: [] };
  if (err instanceof StoreError) {
    const exit = err.code === 'invalid_input' ? EXIT.badInput : EXIT.failed;
    return { code: err.code, message: err.message, exit, issues: err.issues };
  }
  // Driver and socket errors (a server that does not answer): say what failed, without a stack trace.
  const e = err as NodeJS.ErrnoException;
  const message = `The account store failed: ${e.message ?? String(err)}${e.code ? ` (${e.code})` : ''}`;
  return { code: 'store_unavailable', message, exit: EXIT.failed, issues: [] };
}

function commandUsage(command: Command | SessionCommand): string {
  const synopsis = [
    PROGRAM,
    command.name,
    ...command.args,
    ...(command.optionHelp.length ? ['[options]'] : []),
  ];
  return [
    `${synopsis.join(' ')} [--json]`,
    `  ${command.summary}`,
    ...command.optionHelp.map((line) => `    ${line}`),
  ].join('\n');
}

function usage(): string {
  return [
    `Manage accounts, deployment keys, webchat-security and tokens: ${PROGRAM} <command> [options]`,
    '',
    ...commands.map(commandUsage),
    '',
    '--json prints the result (or the error, on stderr) as JSON.',
    'The store: DATABASE_URL when set, else the SQLite file DATA_DIR/store.sqlite (DATA_DIR: .data), which',
    'the running services share: commands work while `make start` runs and while it does not.',
    '`token revoke` writes the revocations SAS reads there.',
    'Exit codes: 0 done, 1 failed (unknown account or key, store unavailable), 2 bad input (nothing written).',
  ].join('\n');
}
