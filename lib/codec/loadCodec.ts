import type { DataConverter } from '@temporalio/common';
import type { CodecKeyRing } from '../secrets/codecKeys';
import { EncryptionCodec } from './encryptionCodec';

/**
 * The data converter the API's client and the worker share: default JSON, then encryption. It refuses to
 * decode a payload that is not encrypted, so only runs started through the API (with the codec key) execute.
 */
export function encryptedDataConverter(ring: CodecKeyRing): DataConverter {
  return { payloadCodecs: [new EncryptionCodec(ring)] };
}
