import type { Context } from 'koa';
import type { DpopCheck } from '../domain/contracts';
import { logFields } from '../lib/http/accessLog';
import { DpopProofError, type ProofReplayCache, verifyDpopProof } from '../lib/dpop/dpopProof';

export interface DpopSettings {
  /** `EDGE_PUBLIC_URL`: a proof's `htu` is this plus the route's path, as the browser called it. */
  publicUrl: string;
  /** Each proof is accepted once, by every API of a fleet and by SAS (lib/replayCache.ts). */
  replays: ProofReplayCache;
}

/**
 * What the request's `DPoP` header proves (lib/dpop): the thumbprint of the key that signed a valid proof for
 * this route (and, on a refresh, for the token presented: `ath`), or that a proof was presented and refused;
 * undefined without one. The run decides what that means for the account (domain/keyBinding.ts); why a proof
 * was refused goes on the access line only.
 */
export async function checkDpop(
  ctx: Context,
  settings: DpopSettings | undefined,
  accessToken?: string,
): Promise<DpopCheck | undefined> {
  const proof = ctx.headers.dpop;
  if (proof === undefined) return undefined;
  if (typeof proof !== 'string' || settings === undefined) return refused(ctx, 'not_checked');
  try {
    const { jkt } = await verifyDpopProof(proof, {
      method: ctx.method,
      url: `${settings.publicUrl}${ctx.path}`,
      ...(accessToken !== undefined && { accessToken }),
      replay: settings.replays,
    });
    return { jkt };
  } catch (err) {
    if (err instanceof DpopProofError) return refused(ctx, err.reason);
    throw err;
  }
}

function refused(ctx: Context, reason: string): DpopCheck {
  logFields(ctx, { dpopRefused: reason });
  return { invalid: true };
}
