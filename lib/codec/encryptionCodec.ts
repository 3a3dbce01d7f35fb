import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { METADATA_ENCODING_KEY, type Payload, type PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import type { CodecKeyRing } from '../secrets/codecKeys';

const ENCRYPTED_ENCODING = 'binary/encrypted';
const KEY_ID_METADATA = 'encryption-key-id';

const IV_BYTES = 12;
const TAG_BYTES = 16;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Encrypts every payload Temporal stores (workflow inputs and results, activity arguments and results, memo)
 * with AES-256-GCM, so tokens, fingerprints and raw signals never sit in history in the clear. The whole
 * serialized payload is encrypted, metadata included; the key id travels in the clear metadata so old
 * histories stay readable after rotation. Runs outside the workflow sandbox (client, worker, codec server).
 */
export class EncryptionCodec implements PayloadCodec {
  constructor(
    private readonly ring: CodecKeyRing,
    /**
     * `refuse` (the API's client and the worker): a payload that is not encrypted fails to decode, so a run
     * started around the API (e.g. `temporal workflow start --input '{...}'`) fails its workflow task and
     * mints nothing, and no hand-made signal or result is believed. `pass` (the codec server): plain payloads
     * are shown as they are, so an operator can read what such a run was given.
     */
    private readonly plaintext: 'refuse' | 'pass' = 'refuse',
  ) {}

  encode(payloads: Payload[]): Promise<Payload[]> {
    const kid = this.ring.current;
    const key = this.ring.keys.get(kid)!;
    // Failures reject rather than throw, as callers of a PayloadCodec expect.
    return Promise.resolve().then(() =>
      payloads.map((payload) => {
        const iv = randomBytes(IV_BYTES);
        const cipher = createCipheriv('aes-256-gcm', key, iv);
        const plain = temporal.api.common.v1.Payload.encode(payload).finish();
        const sealed = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
        return {
          metadata: {
            [METADATA_ENCODING_KEY]: encoder.encode(ENCRYPTED_ENCODING),
            [KEY_ID_METADATA]: encoder.encode(kid),
          },
          data: sealed,
        };
      }),
    );
  }

  decode(payloads: Payload[]): Promise<Payload[]> {
    return Promise.resolve().then(() =>
      payloads.map((payload) => {
        const encoding = payload.metadata?.[METADATA_ENCODING_KEY];
        if (!encoding || decoder.decode(encoding) !== ENCRYPTED_ENCODING) {
          if (this.plaintext === 'pass') return payload;
          // Never the payload itself in the message: it lands in worker logs and workflow task failures.
          throw new UnencryptedPayloadError();
        }
        const kidBytes = payload.metadata?.[KEY_ID_METADATA];
        const kid = kidBytes ? decoder.decode(kidBytes) : '';
        const key = this.ring.keys.get(kid);
        if (!key) throw new Error(`payload encrypted with unknown codec key id "${kid}"`);
        const data = Buffer.from(payload.data ?? new Uint8Array());
        if (data.length < IV_BYTES + TAG_BYTES) throw new Error('encrypted payload is too short');
        const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
        decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
        const plain = Buffer.concat([
          decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)),
          decipher.final(),
        ]);
        return temporal.api.common.v1.Payload.decode(plain);
      }),
    );
  }
}

/** A payload reached a strict codec unencrypted: it did not come from the API or a worker of this service. */
class UnencryptedPayloadError extends Error {
  override readonly name = 'UnencryptedPayloadError';
  constructor() {
    super('refused an unencrypted payload: runs must be started through the API');
  }
}
