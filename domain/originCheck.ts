import { isOriginAllowed } from './cors';
import type { RunObserver } from './tokenSteps';

/**
 * The change that added the origin check. Runs started before it went on to mint for a disallowed origin;
 * replayed, they must do the same, so a workflow asks `patched()` whether it applies (workflows/steps.ts). Once
 * no run older than the check remains (3 minutes after the deploy), that can become `deprecatePatch`, then go.
 */
export const ORIGIN_CHECK = 'origin-not-allowed';

/**
 * Whether a run must refuse the request now that the account's allowed origins are known: a browser `Origin`
 * that none of them matches (no `Origin`, as from a server, is served as before). Decided before any
 * fingerprint or FAS call, so nothing is minted for a page whose reply the browser would block anyway. The
 * observer is only asked for a refusal, so an allowed request records nothing extra in history.
 */
export function refusesOrigin(
  allowedOrigins: readonly string[],
  origin: string | null,
  observer: RunObserver,
): boolean {
  return !isOriginAllowed(allowedOrigins, origin) && observer.applies(ORIGIN_CHECK);
}
