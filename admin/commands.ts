import { resolve } from 'node:path';
import { type ParseArgsConfig } from 'node:util';
import { z } from 'zod';
import { WEBCHAT_SECURITY_FLAG, fingerprintSensitivities, keyBindings } from '../domain/contracts';
import { type AccountAdmin, generateDeploymentKey } from '../store/accountAdmin';
import {
  accountSidSchema as accountSid,
  keyIdSchema as keyId,
  sessionMaxAgeSeconds,
  tokenTtlSeconds,
} from '../domain/accountRules';
import {
  type CreateAccountInput,
  createAccountInput,
  parseInput,
  type UpdateAccountInput,
  updateAccountInput,
} from '../store/accountInput';
import { type Revocation, type SessionStore } from '../store/sessionStore';
import { StoreError } from '../store/storeError';
import { accountJson, accountListText, accountText, keyListText, newKeysText } from './format';
import { UsageError } from './usageError';

export interface Output {
  json: unknown;
  text: string;
}

type Values = Record<string, string | boolean | string[] | boolean[] | undefined>;

export interface Command {
  name: string;
  /** Positional arguments, in order, as the usage shows them. */
  args: readonly string[];
  options: NonNullable<ParseArgsConfig['options']>;
  /** Option lines of the usage text. */
  optionHelp: readonly string[];
  summary: string;
  /**
   * Checks every argument before the store is opened (a bad one must write nothing, and open nothing), then
   * returns the work to do. Throws `UsageError` or `StoreError('invalid_input')`.
   */
  prepare(values: Values, args: readonly string[]): (store: AccountAdmin) => Promise<Output>;
  /** Set on commands that work on the token session store (revocations) instead of the account store. */
  store?: never;
}

/** A command on the refresh and revocation state SAS reads (store/sessionStore.ts). */
export interface SessionCommand extends Omit<Command, 'prepare' | 'store'> {
  store: 'sessions';
  prepare(values: Values, args: readonly string[]): (store: SessionAdmin) => Promise<Output>;
}

export type SessionAdmin = Pick<SessionStore, 'revokeIdentity' | 'revokeAccount' | 'close'>;

const MAX_KEYS_AT_CREATE = 10;

const accountOptions = {
  name: { type: 'string' },
  origin: { type: 'string', multiple: true },
  sensitivity: { type: 'string' },
  ttl: { type: 'string' },
  'session-max-age': { type: 'string' },
  'key-binding': { type: 'string' },
} as const;

const accountOptionHelp = [
  '--name <text>             friendly name (up to 256 characters)',
  '--origin <origin>         allowed origin, repeatable: https://shop.example.com, http://localhost:8081,',
  '                          or https://*.example.com for its subdomains; none means any origin',
  `--sensitivity <level>     fingerprint sensitivity: ${fingerprintSensitivities.join(' | ')}`,
  `--ttl <seconds>           token lifetime, ${tokenTtlSeconds.min} to ${tokenTtlSeconds.max}`,
  `--session-max-age <s>     how long a session may keep refreshing, ${sessionMaxAgeSeconds.min} to ${sessionMaxAgeSeconds.max}; \`default\`: the`,
  `                          service's SESSION_MAX_AGE_S (${sessionMaxAgeSeconds.default} unless set)`,
  `--key-binding <mode>      tokens bound to a key the browser holds (DPoP): ${keyBindings.join(' | ')};`,
  '                          required refuses a token request without a proof; default off',
];

export const commands: readonly (Command | SessionCommand)[] = [
  {
    name: 'account create',
    args: [],
    options: {
      ...accountOptions,
      security: { type: 'string' },
      keys: { type: 'string' },
      address: { type: 'string' },
    },
    optionHelp: [
      ...accountOptionHelp,
      '--security on|off         webchat-security (fingerprint-bound tokens); default off',
      `--keys <n>                deployment keys to create with it, 0 to ${MAX_KEYS_AT_CREATE}; default 1`,
      '--address <AD...>         address SID; generated when absent',
    ],
    summary:
      'Create an account, with a new deployment key by default (defaults: medium, 3600 s, any origin).',
    prepare(values) {
      const keyCount = values.keys === undefined ? 1 : integer(values.keys, '--keys');
      if (keyCount > MAX_KEYS_AT_CREATE) throw new UsageError(`--keys must be 0 to ${MAX_KEYS_AT_CREATE}`);
      const { sessionMaxAgeSeconds, ...fields } = accountFields(values);
      const input: CreateAccountInput = {
        ...fields,
        // A new account has the service default unless told otherwise: `default` asks for nothing.
        ...(typeof sessionMaxAgeSeconds === 'number' ? { sessionMaxAgeSeconds } : {}),
        ...(typeof values.address === 'string' ? { addressSid: values.address } : {}),
        // Generated here so that the account, its flag and its keys are written in one transaction.
        deploymentKeys: Array.from({ length: keyCount }, generateDeploymentKey),
        featureFlags: {
          [WEBCHAT_SECURITY_FLAG]: values.security === undefined ? false : onOff(values.security),
        },
      };
      parseInput(createAccountInput, input, 'account');
      return async (store) => {
        const { account, keys } = await store.createAccount(input);
        return {
          json: { account: accountJson(account), keys },
          text: `Created account ${account.accountSid}.\n${newKeysText(keys)}`,
        };
      };
    },
  },
  {
    name: 'account list',
    args: [],
    options: {},
    optionHelp: [],
    summary: 'List every account.',
    prepare: () => async (store) => {
      const accounts = await store.listAccounts();
      return { json: { accounts: accounts.map(accountJson) }, text: accountListText(accounts) };
    },
  },
  {
    name: 'account show',
    args: ['<AC...>'],
    options: {},
    optionHelp: [],
    summary: 'Show one account and its deployment keys.',
    prepare(_values, [sid]) {
      const id = parseInput(accountSid, sid, 'account SID');
      return async (store) => {
        const account = await store.getAccount(id);
        if (!account) throw accountNotFound(id);
        const keys = await store.listDeploymentKeys(id);
        return {
          json: { account: accountJson(account), keys },
          text: `${accountText(account)}\n\n${keyListText(keys)}`,
        };
      };
    },
  },
  {
    name: 'account set',
    args: ['<AC...>'],
    options: { ...accountOptions, 'any-origin': { type: 'boolean' } },
    optionHelp: [
      ...accountOptionHelp,
      '--any-origin              clear the allowed origins: any origin may read tokens',
    ],
    summary:
      'Change an account’s name, allowed origins, fingerprint sensitivity, token TTL, session maximum age or key binding.',
    prepare(values, [sid]) {
      const id = parseInput(accountSid, sid, 'account SID');
      if (values['any-origin'] && values.origin)
        throw new UsageError('Give --origin or --any-origin, not both');
      const patch: UpdateAccountInput = {
        ...accountFields(values),
        ...(values['any-origin'] ? { allowedOrigins: [] } : {}),
      };
      if (Object.keys(patch).length === 0) {
        throw new UsageError(
          'Nothing to change: give --name, --origin, --any-origin, --sensitivity, --ttl, --session-max-age or --key-binding',
        );
      }
      parseInput(updateAccountInput, patch, 'account update');
      return async (store) => {
        const account = await store.updateAccount(id, patch);
        return { json: { account: accountJson(account) }, text: `Updated.\n${accountText(account)}` };
      };
    },
  },
  {
    name: 'key add',
    args: ['<AC...>'],
    options: {},
    optionHelp: [],
    summary: 'Add a random deployment key (192 bits) to an account; it is printed once.',
    prepare(_values, [sid]) {
      const id = parseInput(accountSid, sid, 'account SID');
      return async (store) => {
        const key = await store.addDeploymentKey(id);
        return { json: { accountSid: id, ...key }, text: newKeysText([key]) };
      };
    },
  },
  {
    name: 'key list',
    args: ['<AC...>'],
    options: {},
    optionHelp: [],
    summary: 'List an account’s deployment keys (id, prefix, live or revoked); never the keys themselves.',
    prepare(_values, [sid]) {
      const id = parseInput(accountSid, sid, 'account SID');
      return async (store) => {
        const keys = await store.listDeploymentKeys(id);
        return { json: { keys }, text: keyListText(keys) };
      };
    },
  },
  {
    name: 'key revoke',
    args: ['<DK...>'],
    options: {},
    optionHelp: [],
    summary: 'Revoke a deployment key: the next token request with it gets 403 invalid_deployment_key.',
    prepare(_values, [id]) {
      const key = parseInput(keyId, id, 'key id');
      return async (store) => {
        const info = await store.revokeDeploymentKey(key);
        return {
          json: { key: info },
          text: `Revoked ${info.keyId} (${info.keyPrefix}…) of ${info.accountSid} at ${info.revokedAt?.toISOString() ?? '?'}.`,
        };
      };
    },
  },
  ...(['on', 'off'] as const).map((state): Command => ({
    name: `security ${state}`,
    args: ['<AC...>'],
    options: {},
    optionHelp: [],
    summary: `Turn ${WEBCHAT_SECURITY_FLAG} ${state} for an account${state === 'on' ? ' (tokens bound to a browser fingerprint)' : ''}.`,
    prepare(_values, [sid]) {
      const id = parseInput(accountSid, sid, 'account SID');
      return async (store) => {
        await store.setFeatureFlag(id, WEBCHAT_SECURITY_FLAG, state === 'on');
        const account = await store.getAccount(id);
        if (!account) throw accountNotFound(id);
        return {
          json: { account: accountJson(account) },
          text: `${WEBCHAT_SECURITY_FLAG} is ${state} for ${id}.`,
        };
      };
    },
  })),
  {
    name: 'store backup',
    args: ['<file>'],
    options: {},
    optionHelp: [],
    summary:
      'Copy the embedded store (SQLite) into <file> while the services keep running: SQLite’s online backup.',
    prepare(_values, [file]) {
      if (!file) throw new UsageError('store backup: give the file to write');
      const destination = resolve(file);
      return async (store) => {
        await store.backup(destination);
        return { json: { backup: destination }, text: `Backed up the store into ${destination}.` };
      };
    },
  },
  {
    name: 'token revoke',
    store: 'sessions',
    args: [],
    options: { identity: { type: 'string' }, account: { type: 'string' } },
    optionHelp: [
      '--identity <uuid>         every token of this visitor, whenever issued (its refreshes included)',
      '--account <AC...>         every token of this account issued until now; later ones are not affected',
    ],
    summary:
      'Revoke tokens: SAS refuses them at once on validate and refresh (403 invalid_token), in every instance.',
    prepare(values) {
      const { identity, account } = values;
      if ((identity === undefined) === (account === undefined)) {
        throw new UsageError('token revoke: give exactly one of --identity <uuid> or --account <AC...>');
      }
      if (typeof identity === 'string') {
        const id = parseInput(visitorIdentity, identity, 'identity');
        return async (store) => revokedOutput(await store.revokeIdentity(id));
      }
      const sid = parseInput(accountSid, account, 'account SID');
      return async (store) => revokedOutput(await store.revokeAccount(sid));
    },
  },
];

const visitorIdentity = z.uuid();

function revokedOutput(revocation: Revocation): Output {
  const what =
    revocation.kind === 'account'
      ? `every token of account ${revocation.subject} issued until ${revocation.issuedBefore?.toISOString() ?? '?'}`
      : `every token of identity ${revocation.subject}`;
  return {
    json: { revocation },
    text: `Revoked ${what}. The record is kept until ${revocation.expiresAt.toISOString()}, when the last token it covers has expired.`,
  };
}

function accountFields(values: Values): UpdateAccountInput {
  const fields: UpdateAccountInput = {};
  if (typeof values.name === 'string') fields.friendlyName = values.name;
  if (Array.isArray(values.origin)) fields.allowedOrigins = values.origin.map(String);
  if (typeof values.sensitivity === 'string') {
    fields.fingerprintSensitivity = values.sensitivity as UpdateAccountInput['fingerprintSensitivity'];
  }
  if (values.ttl !== undefined) fields.tokenTtlSeconds = integer(values.ttl, '--ttl');
  if (typeof values['key-binding'] === 'string') {
    fields.keyBinding = values['key-binding'] as UpdateAccountInput['keyBinding'];
  }
  const maxAge = values['session-max-age'];
  if (maxAge !== undefined) {
    fields.sessionMaxAgeSeconds = maxAge === 'default' ? null : integer(maxAge, '--session-max-age');
  }
  return fields;
}

function integer(value: unknown, option: string): number {
  if (typeof value !== 'string' || !/^\d{1,9}$/.test(value)) {
    throw new UsageError(`${option} must be a whole number, got ${JSON.stringify(value)}`);
  }
  return Number(value);
}

function onOff(value: unknown): boolean {
  if (value === 'on') return true;
  if (value === 'off') return false;
  throw new UsageError(`--security must be on or off, got ${JSON.stringify(value)}`);
}

function accountNotFound(sid: string) {
  return new StoreError('account_not_found', `Account ${sid} not found`);
}
