import type { AccountConfig, DpopCheck } from './contracts';

/**
 * What an issuance binds its token to, by the account's key binding and the request's DPoP proof: `off`, never
 * a key, whatever the request carries; `optional`, the proof's key when there is one; `required`, the proof's key,
 * or no token. A proof that was presented and refused is never ignored where binding is on: the client asked for
 * a bound token, and an unbound one would look like it.
 */
export function keyToBind(config: AccountConfig, dpop: DpopCheck | undefined): { jkt?: string } | 'refuse' {
  const binding = config.keyBinding ?? 'off';
  if (binding === 'off') return {};
  if (dpop && 'invalid' in dpop) return 'refuse';
  if (dpop) return { jkt: dpop.jkt };
  return binding === 'required' ? 'refuse' : {};
}

/**
 * What a refresh tells SAS of keys: the key that proved possession with this request (a key-bound token needs
 * its own, whatever the account says now), and whether an unbound token's successor is bound to it. Refused
 * where the account binds and the proof is missing (`required`) or was refused.
 */
export function refreshKeys(
  config: AccountConfig,
  dpop: DpopCheck | undefined,
): { proofJkt?: string; bindKey: boolean } | 'refuse' {
  const binding = config.keyBinding ?? 'off';
  const proofJkt = dpop && 'jkt' in dpop ? dpop.jkt : undefined;
  if (binding !== 'off' && dpop && 'invalid' in dpop) return 'refuse';
  if (binding === 'required' && proofJkt === undefined) return 'refuse';
  return { ...(proofJkt !== undefined && { proofJkt }), bindKey: binding !== 'off' };
}
