import { AccountAdmin } from './accountAdmin';
import { type AccountByKey, AccountReader } from './accountReader';
import type { StoreDatabase } from './database';

/**
 * What `openStore` gives a process: both halves over one database, the token path's reads (`AccountReader`, what
 * the activities use) and the operator's reads and writes (`AccountAdmin`, what the admin CLI and the demo seed
 * use). A process that needs one half passes on only that type.
 */
export class AccountStore extends AccountAdmin {
  private readonly reader: AccountReader;

  constructor(database: StoreDatabase) {
    super(database);
    this.reader = new AccountReader(database.db);
  }

  /** The database underneath, for what only an operator does with the whole file (`store backup`). */
  get storeDatabase(): StoreDatabase {
    return this.database;
  }

  readByDeploymentKey(key: string, flag: string): Promise<AccountByKey | null> {
    return this.reader.readByDeploymentKey(key, flag);
  }
}
