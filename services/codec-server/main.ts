import { EncryptionCodec } from '../../lib/codec/encryptionCodec';
import { serve } from '../../lib/http/serve';
import { createLogger } from '../../lib/logger';
import { loadCodecKeys } from '../../lib/secrets/codecKeys';
import { onShutdown } from '../../lib/shutdown';
import { createCodecServerApp } from './app';
import { loadCodecServerConfig } from './config';

async function main() {
  const config = loadCodecServerConfig();
  const logger = createLogger('codec-server', config.LOG_LEVEL);
  const ring = await loadCodecKeys(config.codecKeys);
  const app = createCodecServerApp({
    codec: new EncryptionCodec(ring, 'pass'),
    corsOrigins: config.CODEC_CORS_ORIGINS,
    allowedHosts: config.CODEC_ALLOWED_HOSTS,
    authToken: config.CODEC_AUTH_TOKEN,
    allowEncode: config.CODEC_ALLOW_ENCODE,
    logger,
  });
  const served = await serve(app, config.CODEC_PORT, config.HOST);
  logger.info(
    {
      url: served.url,
      keyIds: [...ring.keys.keys()],
      current: ring.current,
      allowedHosts: config.CODEC_ALLOWED_HOSTS,
      bearerRequired: Boolean(config.CODEC_AUTH_TOKEN),
      encode: config.CODEC_ALLOW_ENCODE,
    },
    'codec server listening',
  );
  onShutdown(() => served.close(), { log: logger });
}

if (require.main === module) {
  main().catch((err: unknown) => {
    // A configuration error is a message for the operator, not a stack.
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
