/**
 * `npm run rotate-codec-key`: adds a new current payload-codec key to the key file under DATA_DIR. Old keys stay
 * for decoding existing histories. Restart the worker, the API and the codec server to encrypt with the new key.
 */
import { defaultCodecKeysFile, rotateCodecKeys } from '../lib/secrets/codecKeys';

if (process.env.CODEC_KEYS) {
  // The processes read the value, not a file: a rotated file would change nothing.
  console.error('CODEC_KEYS is set: add the new key to its value in your secret store instead.');
  process.exit(1);
}
const path = process.env.CODEC_KEYS_FILE ?? defaultCodecKeysFile(process.env.DATA_DIR ?? '.data');
rotateCodecKeys(path).then(
  (kid) => console.log(`New current codec key ${kid} in ${path}. Restart the worker, API and codec server.`),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
