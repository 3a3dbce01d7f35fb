import type { CreateWebchatTokenInput, CreateWebchatTokenResult } from '../domain/contracts';
import { createWebchatToken } from '../domain/createWebchatToken';
import { runObserver, steps } from './steps';

/** One token issuance (domain/createWebchatToken.ts), each step a local activity recorded in history. */
export function CreateWebchatToken(input: CreateWebchatTokenInput): Promise<CreateWebchatTokenResult> {
  return createWebchatToken(input, steps, runObserver());
}
