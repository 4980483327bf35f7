/** The IndexedDB access the browser checkpoints share, through `idb` (Jake Archibald's promise wrapper). */
import { openDB, type IDBPDatabase } from 'idb';

/** The object store every database of ours holds (version 1). */
export const STORE = 'checkpoints';

/** Runs `use` on `database` (created with its object store if new), then closes it, so a later version change or
 * deletion is not blocked. */
export async function withDb<T>(database: string, use: (db: IDBPDatabase) => Promise<T>): Promise<T> {
  const db = await openDB(database, 1, {
    upgrade(d) {
      if (!d.objectStoreNames.contains(STORE)) d.createObjectStore(STORE);
    },
  });
  try {
    return await use(db);
  } finally {
    db.close();
  }
}
