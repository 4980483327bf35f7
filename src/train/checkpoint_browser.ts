/**
 * Model checkpoints in the browser, the same three files as a Node checkpoint folder (./checkpoint_files.ts): kept
 * in IndexedDB (through `idb`), or handed out as `File`s to download and read back from an `<input type="file">`.
 * Downloaded files put in one folder are a checkpoint that Node's `loadModel` and the translate CLI read, and whose
 * `model.safetensors` PyTorch loads with `strict=True`; a folder written by Node or by PyTorch uploads here.
 */
import type { Module } from '../nn/module.js';
import { CheckpointError } from '../runtime/errors.js';
import { STORE, withDb } from './indexed_db.js';
import {
  CHECKPOINT_FILES,
  decodeCheckpoint,
  encodeCheckpoint,
  modelFromCheckpoint,
  type Checkpoint,
  type CheckpointContents,
  type CheckpointFiles,
  type ModelBuilder,
} from './checkpoint_files.js';

/** Where {@link saveCheckpointToIndexedDb} keeps checkpoints. */
export interface IndexedDbCheckpointOptions {
  /** The IndexedDB database (default `'webgpu-attention-models'`); its object store is `checkpoints`. */
  database?: string;
}

const DEFAULT_DATABASE = 'webgpu-attention-models';

/** `indexeddb:<database>/<name>`, the location errors give. */
const location = (name: string, database: string) => `indexeddb:${database}/${name}`;

/**
 * Saves a checkpoint of `model` in IndexedDB under `name`: one record `{ 'model.safetensors', 'vocab.json',
 * 'config.json' }` of bytes, replacing any earlier one whole (one transaction). Reads the weights back from the
 * device.
 * @returns the location, `indexeddb:<database>/<name>`.
 * @throws Error with the browser's message when IndexedDB is unavailable (Node, some private modes) or refuses the
 *   write (quota).
 */
export async function saveCheckpointToIndexedDb(
  name: string,
  model: Module,
  contents: CheckpointContents,
  { database = DEFAULT_DATABASE }: IndexedDbCheckpointOptions = {},
): Promise<string> {
  const files = await encodeCheckpoint(model, contents);
  await withDb(database, (db) => db.put(STORE, files, name));
  return location(name, database);
}

/**
 * Reads and validates the checkpoint saved under `name` by {@link saveCheckpointToIndexedDb}.
 * @throws CheckpointError naming `indexeddb:<database>/<name>` when there is none, or naming the file in it (and the
 *   field) when one is missing or malformed (see `decodeCheckpoint`).
 */
export async function loadCheckpointFromIndexedDb(
  name: string,
  { database = DEFAULT_DATABASE }: IndexedDbCheckpointOptions = {},
): Promise<Checkpoint> {
  const where = location(name, database);
  const record: unknown = await withDb(database, (db) => db.get(STORE, name));
  if (record === undefined) throw new CheckpointError(where, 'no checkpoint is saved under this name');
  const files = {} as CheckpointFiles;
  for (const f of CHECKPOINT_FILES) {
    const bytes = (record as Partial<Record<string, unknown>> | null)?.[f];
    if (!(bytes instanceof Uint8Array)) throw new CheckpointError(`${where}/${f}`, 'missing from the record');
    files[f] = bytes;
  }
  return decodeCheckpoint(files, (f) => `${where}/${f}`);
}

/**
 * {@link loadCheckpointFromIndexedDb}, then rebuilds the model with `build` (see `modelFromCheckpoint`; on failure
 * every tensor built meanwhile is disposed).
 * @throws CheckpointError as {@link loadCheckpointFromIndexedDb} and `modelFromCheckpoint`.
 */
export async function loadModelFromIndexedDb<M extends Module>(
  name: string,
  build: ModelBuilder<M>,
  options: IndexedDbCheckpointOptions = {},
): Promise<{ model: M; checkpoint: Checkpoint }> {
  const checkpoint = await loadCheckpointFromIndexedDb(name, options);
  const where = location(name, options.database ?? DEFAULT_DATABASE);
  return { model: modelFromCheckpoint(checkpoint, build, (f) => `${where}/${f}`), checkpoint };
}

/** Removes the checkpoint saved under `name` (nothing happens when there is none). */
export async function deleteCheckpointFromIndexedDb(
  name: string,
  { database = DEFAULT_DATABASE }: IndexedDbCheckpointOptions = {},
): Promise<void> {
  await withDb(database, (db) => db.delete(STORE, name));
}

/**
 * A checkpoint of `model` as three `File`s named `model.safetensors`, `vocab.json` and `config.json` (byte for
 * byte what Node's `saveCheckpoint` writes), to download, e.g. through `URL.createObjectURL` and an
 * `<a download>` each. Reads the weights back from the device.
 */
export async function checkpointToFiles(model: Module, contents: CheckpointContents): Promise<File[]> {
  const files = await encodeCheckpoint(model, contents);
  const types: Record<string, string> = {
    '.json': 'application/json',
    '.safetensors': 'application/octet-stream',
  };
  return CHECKPOINT_FILES.map(
    (f) => new File([files[f] as Uint8Array<ArrayBuffer>], f, { type: types[f.slice(f.lastIndexOf('.'))] }),
  );
}

/**
 * Reads a checkpoint from the files of a checkpoint folder, found by name (`model.safetensors`, `vocab.json`,
 * `config.json`; others are ignored), e.g. an `<input type="file" multiple>`'s `files`.
 * @throws CheckpointError naming the file (and the field) when one is missing, repeated or malformed (see
 *   `decodeCheckpoint`).
 */
export async function checkpointFromFiles(files: FileList | Iterable<File>): Promise<Checkpoint> {
  return decodeCheckpoint(await readFiles(files));
}

/**
 * {@link checkpointFromFiles}, then rebuilds the model with `build` (see `modelFromCheckpoint`; on failure every
 * tensor built meanwhile is disposed).
 * @throws CheckpointError as {@link checkpointFromFiles} and `modelFromCheckpoint`.
 */
export async function loadModelFromFiles<M extends Module>(
  files: FileList | Iterable<File>,
  build: ModelBuilder<M>,
): Promise<{ model: M; checkpoint: Checkpoint }> {
  const checkpoint = await checkpointFromFiles(files);
  return { model: modelFromCheckpoint(checkpoint, build), checkpoint };
}

/** The bytes of each checkpoint file among `files`, by name. */
async function readFiles(files: FileList | Iterable<File>): Promise<CheckpointFiles> {
  const byName = new Map<string, File>();
  for (const file of Array.from(files as Iterable<File> | ArrayLike<File>)) {
    if (!(CHECKPOINT_FILES as readonly string[]).includes(file.name)) continue;
    if (byName.has(file.name))
      throw new CheckpointError(file.name, 'given twice: pick one checkpoint folder');
    byName.set(file.name, file);
  }
  const out = {} as CheckpointFiles;
  for (const f of CHECKPOINT_FILES) {
    const file = byName.get(f);
    if (!file)
      throw new CheckpointError(f, `missing: a checkpoint is the files ${CHECKPOINT_FILES.join(', ')}`);
    out[f] = new Uint8Array(await file.arrayBuffer());
  }
  return out;
}
