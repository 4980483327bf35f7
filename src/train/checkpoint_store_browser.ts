/** The browser {@link CheckpointStore}: a record in IndexedDB, through `idb` (Jake Archibald's promise wrapper). */
import { openDB, type IDBPDatabase } from 'idb';
import type { CheckpointStore } from './checkpoint_store.js';

const STORE = 'checkpoints';

/**
 * A training checkpoint kept in IndexedDB: database `database` (version 1, object store `checkpoints`), under
 * `key`. A save is one transaction, so it replaces the previous checkpoint whole or not at all. Works in pages and
 * workers (anywhere `indexedDB` exists).
 * @throws Error from `read`/`write` when IndexedDB is unavailable (private modes, Node) or refuses the write
 *   (quota), with the browser's message.
 */
export function indexedDbStore(key: string, database = 'webgpu-attention'): CheckpointStore {
  let db: Promise<IDBPDatabase> | null = null;
  const open = () =>
    (db ??= openDB(database, 1, {
      upgrade(d) {
        if (!d.objectStoreNames.contains(STORE)) d.createObjectStore(STORE);
      },
    }));
  return {
    location: `indexeddb:${database}/${key}`,
    async write(bytes) {
      await (await open()).put(STORE, bytes.slice(), key);
    },
    async read() {
      const value: unknown = await (await open()).get(STORE, key);
      return value instanceof Uint8Array ? value : null;
    },
    async clear() {
      await (await open()).delete(STORE, key);
    },
  };
}
