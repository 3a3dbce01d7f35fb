import { patched } from '@temporalio/workflow';
import { isOriginAllowed } from '../domain/cors';

/**
 * Marks the runs that refuse a disallowed origin. Runs started before this check existed went on to mint for
 * such an origin; replayed, they must do the same, so the check applies only where the history has this marker
 * (or the run is new). Once no run older than this check remains (3 minutes after the deploy), the call can
 * become `deprecatePatch` and later go.
 */
const ORIGIN_CHECK_PATCH = 'origin-not-allowed';

/**
 * Whether a run must refuse the request now that the account's allowed origins are known: a browser `Origin`
 * that none of them matches (no `Origin`, as from a server, is served as before). Decided before any
 * fingerprint or FAS call, so nothing is minted for a page whose reply the browser would block anyway.
 * `patched` is only reached for a refusal, so an allowed request records no marker.
 */
export function refusesOrigin(allowedOrigins: readonly string[], origin: string | null): boolean {
  return !isOriginAllowed(allowedOrigins, origin) && patched(ORIGIN_CHECK_PATCH);
}
