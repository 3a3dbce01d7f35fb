/**
 * `npm run rotate-keys`: creates SAS's key ring when SAS_KEYS_DIR holds none (SAS with NODE_ENV=production only
 * reads that folder, so a deployment's ring is made here, once), else makes a new current signing key pair and encryption key for SAS; the old ones become
 * previous keys, which keep validating the tokens they minted. `npm run rotate-keys -- --retire` drops the
 * previous keys: do it once the longest token TTL (24 h) has passed since the rotation. Running SAS processes
 * take the new ring within SAS_KEYS_RELOAD_MS, or at once on SIGHUP. Reads the same environment as SAS
 * (DATA_DIR, SAS_KEYS_DIR).
 */
import { loadScopedAuthConfig } from '../services/scoped-auth/config';
import { createOrRotateKeys, retireKeys } from '../services/scoped-auth/rotateKeys';

async function main(args: string[]) {
  const unknown = args.filter((a) => a !== '--retire');
  if (unknown.length > 0)
    throw new Error(`Unknown argument ${unknown.join(' ')}; usage: rotate-keys [--retire]`);
  const { keysDir } = loadScopedAuthConfig();
  if (args.includes('--retire')) {
    const result = await retireKeys(keysDir);
    if (result.retired === 0) {
      console.log(`No previous keys in ${keysDir}; nothing retired.`);
      return;
    }
    console.log(`Retired ${result.retired} previous key(s) in ${keysDir}.`);
    console.log(`Current signing kid ${result.signingKids[0]}, encryption kid ${result.encryptionKids[0]}.`);
    if (result.retiredTooSoon) {
      console.warn(
        `Warning: the last rotation was at ${result.rotatedAt}, less than 24 h ago; tokens minted before it with a long TTL are now refused.`,
      );
    }
    return;
  }
  const result = await createOrRotateKeys(keysDir);
  if (result.created) {
    console.log(`Created a key ring in ${keysDir}.`);
    console.log(`Current signing kid ${result.signingKids[0]}, encryption kid ${result.encryptionKids[0]}.`);
    return;
  }
  console.log(`Rotated the keys in ${keysDir}.`);
  console.log(`Current signing kid ${result.signingKids[0]}, encryption kid ${result.encryptionKids[0]}.`);
  console.log(
    `Live: ${result.signingKids.length} signing and ${result.encryptionKids.length} encryption key(s). ` +
      'Retire the previous ones after 24 h: npm run rotate-keys -- --retire',
  );
}

main(process.argv.slice(2)).catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
