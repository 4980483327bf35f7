/** The Node {@link CheckpointStore}: one file, written beside itself and renamed over the old one. */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { CheckpointStore } from './checkpoint_store.js';

/**
 * A training checkpoint kept in the file at `path` (conventionally `*.safetensors`; its folder is created). Each
 * save writes `path.partial` and renames it over `path`, so a crash mid-save leaves the previous checkpoint whole.
 */
export function fileStore(path: string): CheckpointStore {
  return {
    location: path,
    async write(bytes) {
      await mkdir(dirname(path), { recursive: true });
      await writeFile(`${path}.partial`, bytes);
      await rename(`${path}.partial`, path);
    },
    async read() {
      try {
        return new Uint8Array(await readFile(path));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw e;
      }
    },
    async clear() {
      await rm(path, { force: true });
    },
  };
}
