import { WEBCHAT_SECURITY_FLAG } from '../domain/contracts';
import { type AccountRecord, type DeploymentKeyInfo, type NewDeploymentKey } from '../store/accountRecords';

/** An account as `--json` prints it: the record, plus the flag operators ask about most. */
export const accountJson = (account: AccountRecord) => ({
  ...account,
  webchatSecurity: account.featureFlags[WEBCHAT_SECURITY_FLAG] ?? false,
});

const onOff = (on: boolean) => (on ? 'on' : 'off');
const origins = (list: readonly string[]) => (list.length === 0 ? 'any (*)' : list.join(', '));

export function accountText(account: AccountRecord): string {
  const rows: [string, string][] = [
    ['account', account.accountSid],
    ['name', account.friendlyName || '-'],
    ['address', account.addressSid],
    ['allowed origins', origins(account.allowedOrigins)],
    ['fingerprint', account.fingerprintSensitivity],
    ['token TTL', `${account.tokenTtlSeconds} s`],
    [
      'session max age',
      account.sessionMaxAgeSeconds === undefined ? 'service default' : `${account.sessionMaxAgeSeconds} s`,
    ],
    [WEBCHAT_SECURITY_FLAG, onOff(account.featureFlags[WEBCHAT_SECURITY_FLAG] ?? false)],
    ['key binding', account.keyBinding ?? 'off'],
    ['live keys', String(account.deploymentKeys.length)],
    ['created', account.createdAt.toISOString()],
    ['updated', account.updatedAt.toISOString()],
  ];
  return rows.map(([k, v]) => `${k.padEnd(17)}${v}`).join('\n');
}

export function accountListText(accounts: readonly AccountRecord[]): string {
  if (accounts.length === 0) return 'No accounts.';
  const header = ['ACCOUNT', 'SECURITY', 'FINGERPRINT', 'TTL', 'KEYS', 'NAME'];
  const rows = accounts.map((a) => [
    a.accountSid,
    onOff(a.featureFlags[WEBCHAT_SECURITY_FLAG] ?? false),
    a.fingerprintSensitivity,
    `${a.tokenTtlSeconds}s`,
    String(a.deploymentKeys.length),
    a.friendlyName,
  ]);
  return table([header, ...rows]);
}

export function keyListText(keys: readonly DeploymentKeyInfo[]): string {
  if (keys.length === 0) return 'No deployment keys.';
  const rows = keys.map((k) => [
    k.keyId,
    `${k.keyPrefix}…`,
    k.revokedAt ? `revoked ${k.revokedAt.toISOString()}` : 'live',
    k.createdAt.toISOString(),
  ]);
  return table([['KEY ID', 'PREFIX', 'STATE', 'CREATED'], ...rows]);
}

/** The only time a key's plaintext is shown: say so, so that the operator copies it now. */
export function newKeysText(keys: readonly NewDeploymentKey[]): string {
  if (keys.length === 0) return 'No deployment key created; add one with: key add <account SID>';
  const lines = keys.map((k) => `  ${k.keyId}  ${k.key}`);
  return [`New deployment key${keys.length > 1 ? 's' : ''} (shown once, store it now):`, ...lines].join('\n');
}

function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows
    .map((r) =>
      r
        .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
