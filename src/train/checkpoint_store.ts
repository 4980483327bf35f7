/**
 * Where a trainer keeps its training checkpoint: one byte string (a safetensors file, see
 * ./training_checkpoint.ts), replaced as a whole on every save, so an interrupted save leaves the previous one. The
 * Node store is a file (./checkpoint_store_node.ts), the browser's an IndexedDB record
 * (./checkpoint_store_browser.ts); {@link memoryStore} keeps it in memory.
 */

export interface CheckpointStore {
  /** Where the checkpoint lives, for messages: a path, or `indexeddb:<database>/<key>`. */
  readonly location: string;
  /** Replaces the stored checkpoint with `bytes`, atomically. */
  write(bytes: Uint8Array): Promise<void>;
  /** The stored checkpoint, or null when none was written yet. */
  read(): Promise<Uint8Array | null>;
  /** Removes the stored checkpoint (nothing happens when there is none). */
  clear(): Promise<void>;
}

/** A store in memory: survives the engine (and its device), not the process or the page. */
export function memoryStore(location = 'memory'): CheckpointStore {
  let saved: Uint8Array | null = null;
  return {
    location,
    write: async (bytes) => {
      saved = bytes.slice();
    },
    read: async () => saved?.slice() ?? null,
    clear: async () => {
      saved = null;
    },
  };
}
