/**
 * Checkpoints of a trained translation model in a folder: `model.safetensors` (readable by
 * `safetensors.torch.load_file` in Python, with PyTorch `state_dict` names), `vocab.json` and `config.json`; their
 * format and validation are in ./checkpoint_files.ts, shared with the browser's ./checkpoint_browser.ts. Node only.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Module } from '../nn/module.js';
import { CheckpointError } from '../runtime/errors.js';
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

/**
 * Writes `dir/model.safetensors` (every tensor of `model.namedTensors()`, PyTorch state_dict names),
 * `dir/vocab.json` ({ src, tgt } tables) and `dir/config.json`; creates `dir`. Reads the weights back from the
 * device. @returns the three paths.
 */
export async function saveCheckpoint(
  dir: string,
  model: Module,
  contents: CheckpointContents,
): Promise<string[]> {
  const files = await encodeCheckpoint(model, contents);
  await mkdir(dir, { recursive: true });
  const paths = CHECKPOINT_FILES.map((f) => join(dir, f));
  for (const [i, f] of CHECKPOINT_FILES.entries()) await writeFile(paths[i], files[f]);
  return paths;
}

/** Reads a file of the checkpoint, or throws a {@link CheckpointError} naming it. */
async function readPart(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (e) {
    throw new CheckpointError(path, `cannot be read (${(e as Error).message})`);
  }
}

/**
 * Reads a checkpoint written by {@link saveCheckpoint} (or by PyTorch, scripts/torch/checkpoint.py), validating its
 * three files.
 * @throws CheckpointError naming the file (and the field) when a file is missing or unreadable, or malformed (see
 *   `decodeCheckpoint`).
 */
export async function loadCheckpoint(dir: string): Promise<Checkpoint> {
  const bytes = await Promise.all(CHECKPOINT_FILES.map((f) => readPart(join(dir, f))));
  const files = Object.fromEntries(CHECKPOINT_FILES.map((f, i) => [f, bytes[i]])) as CheckpointFiles;
  return decodeCheckpoint(files, (f) => join(dir, f));
}

/**
 * Loads a checkpoint and rebuilds its model: `build(config, srcVocab, tgtVocab)` constructs a fresh model (e.g.
 * from translate.ts's registry), whose tensors are then replaced by the saved ones (see `modelFromCheckpoint`).
 * When anything fails, every tensor created meanwhile (on the current engine) is disposed before the error
 * propagates.
 * @throws CheckpointError from {@link loadCheckpoint}, or from `modelFromCheckpoint` naming `dir/config.json` (the
 *   builder rejects the configuration) or `dir/model.safetensors` and the tensor (missing, of another shape, or
 *   not in the model).
 */
export async function loadModel<M extends Module>(
  dir: string,
  build: ModelBuilder<M>,
): Promise<{ model: M; checkpoint: Checkpoint }> {
  const checkpoint = await loadCheckpoint(dir);
  return { model: modelFromCheckpoint(checkpoint, build, (f) => join(dir, f)), checkpoint };
}

export {
  CONFIG_FILE,
  VOCAB_FILE,
  WEIGHTS_FILE,
  type Checkpoint,
  type CheckpointConfig,
  type CheckpointContents,
} from './checkpoint_files.js';
export {
  decodeSafetensors,
  encodeSafetensors,
  parseJsonFile,
  type NamedArray,
  type SafetensorsEntry,
} from './safetensors.js';
