import type { DataConverter } from '@temporalio/common';
import type { CodecKeyRing } from '../secrets/codecKeys';
import { EncryptionCodec } from './encryptionCodec';

/** The data converter the API's client and the worker share: default JSON, then encryption. */
export function encryptedDataConverter(ring: CodecKeyRing): DataConverter {
  return { payloadCodecs: [new EncryptionCodec(ring)] };
}
