import { join } from 'node:path';
import type { DataConverter } from '@temporalio/common';
import { type CodecKeyRing, loadOrCreateCodecKeys, parseCodecKeys } from './codecKeyRing';
import { EncryptionCodec } from './encryptionCodec';

/** Where the development codec keys live unless CODEC_KEYS or CODEC_KEYS_FILE say otherwise. */
export const defaultCodecKeysFile = (dataDir: string) => join(dataDir, 'secrets', 'codec-keys.json');

/** The codec key ring of a process: `CODEC_KEYS` (JSON) wins, else the key file, created on first start. */
export async function loadCodecKeys(env: {
  CODEC_KEYS?: string;
  CODEC_KEYS_FILE: string;
}): Promise<CodecKeyRing> {
  return env.CODEC_KEYS ? parseCodecKeys(env.CODEC_KEYS) : loadOrCreateCodecKeys(env.CODEC_KEYS_FILE);
}

/**
 * The data converter the API's client and the worker share: default JSON, then encryption. It refuses to
 * decode a payload that is not encrypted, so only runs started through the API (with the codec key) execute.
 */
export function encryptedDataConverter(ring: CodecKeyRing): DataConverter {
  return { payloadCodecs: [new EncryptionCodec(ring)] };
}
