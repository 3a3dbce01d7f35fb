import { randomUUID } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT } from 'jose';
import { accessTokenHash } from '../../lib/dpop/dpopProof';

export interface ProofClaims {
  htm?: string;
  htu: string;
  /** The token the proof goes with: its hash becomes `ath`. */
  token?: string;
  iat?: number;
  jti?: string;
}

/** A browser's DPoP key, as the demo page holds one: ES256, the public half in every proof's header. */
export async function dpopKey() {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const jwk = await exportJWK(publicKey);
  return {
    jkt: await calculateJwkThumbprint(jwk, 'sha256'),
    proof: ({
      htm = 'POST',
      htu,
      token,
      iat = Math.floor(Date.now() / 1000),
      jti = randomUUID(),
    }: ProofClaims) =>
      new SignJWT({ jti, htm, htu, iat, ...(token !== undefined && { ath: accessTokenHash(token) }) })
        .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk })
        .sign(privateKey),
  };
}
