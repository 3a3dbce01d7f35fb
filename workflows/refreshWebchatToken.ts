import type { RefreshWebchatTokenInput, RefreshWebchatTokenResult } from '../domain/contracts';
import { refreshWebchatToken } from '../domain/refreshWebchatToken';
import { runObserver, steps } from './steps';

/** One token refresh (domain/refreshWebchatToken.ts), each step a local activity recorded in history. */
export function RefreshWebchatToken(input: RefreshWebchatTokenInput): Promise<RefreshWebchatTokenResult> {
  return refreshWebchatToken(input, steps, runObserver());
}
