import { join, resolve } from 'node:path';
import { type AccountStore } from './accountStore';

/**
 * What an operator does with the account store (the admin CLI): reads and validated writes, without the token
 * path. Both the store itself and a client of a running worker's store socket provide it.
 */
export const accountAdminMethods = [
  'listAccounts',
  'getAccount',
  'createAccount',
  'updateAccount',
  'addDeploymentKey',
  'listDeploymentKeys',
  'revokeDeploymentKey',
  'setFeatureFlag',
] as const;

export type AccountAdminMethod = (typeof accountAdminMethods)[number];

export type AccountAdmin = Pick<AccountStore, AccountAdminMethod | 'close'>;

export const isAccountAdminMethod = (name: unknown): name is AccountAdminMethod =>
  accountAdminMethods.some((m) => m === name);

/**
 * Where the process holding the embedded store under `dataDir` serves it to the admin CLI: a Unix socket in a
 * folder only the owner can enter.
 */
export const storeSocketPath = (dataDir: string): string => join(resolve(dataDir), 'run', 'accounts.sock');
