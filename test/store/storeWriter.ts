/**
 * `node --import tsx test/store/storeWriter.ts <dataDir> <count>`: a process that writes to the SQLite store as
 * the admin CLI does, one transaction after another (an account with a key and a flag, then a flag change and a
 * key revocation), and prints each account's SID once its transaction has committed. The store tests run several
 * at once against one file, and kill them mid-write.
 */
import { WEBCHAT_SECURITY_FLAG } from '../../domain/contracts';
import { openStore } from '../../store/openStore';

async function main() {
  const [dataDir, count] = process.argv.slice(2);
  if (!dataDir || !count) throw new Error('usage: storeWriter.ts <dataDir> <count>');
  const store = await openStore({ dataDir });
  for (let i = 0; i < Number(count); i++) {
    const { account, keys } = await store.createAccount({
      friendlyName: `writer ${process.pid} #${i}`,
      allowedOrigins: ['https://shop.example.com'],
      deploymentKeys: [`writer-${process.pid}-${i}-key`],
      featureFlags: { [WEBCHAT_SECURITY_FLAG]: i % 2 === 0 },
    });
    await store.setFeatureFlag(account.accountSid, WEBCHAT_SECURITY_FLAG, i % 2 !== 0);
    const extra = await store.addDeploymentKey(account.accountSid);
    await store.revokeDeploymentKey(extra.keyId);
    process.stdout.write(`${account.accountSid} ${keys[0]!.key}\n`);
  }
  await store.close();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
