/** The browser {@link CheckpointStore}: a record in IndexedDB (./indexed_db.ts). */
import type { CheckpointStore } from './checkpoint_store.js';
import { STORE, withDb } from './indexed_db.js';

/**
 * A training checkpoint kept in IndexedDB: database `database` (version 1, object store `checkpoints`), under
 * `key`. A save is one transaction, so it replaces the previous checkpoint whole or not at all. Works in pages and
 * workers (anywhere `indexedDB` exists).
 * @throws Error from `read`/`write` when IndexedDB is unavailable (private modes, Node) or refuses the write
 *   (quota), with the browser's message.
 */
export function indexedDbStore(key: string, database = 'webgpu-attention'): CheckpointStore {
  return {
    location: `indexeddb:${database}/${key}`,
    write: (bytes) => withDb(database, async (db) => void (await db.put(STORE, bytes.slice(), key))),
    read: () =>
      withDb(database, async (db) => {
        const value: unknown = await db.get(STORE, key);
        return value instanceof Uint8Array ? value : null;
      }),
    clear: () => withDb(database, (db) => db.delete(STORE, key)),
  };
}
