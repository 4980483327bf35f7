/**
 * Checkpoints of a trained translation model: the weights as a `.safetensors` file (readable by
 * `safetensors.torch.load_file` in Python, with PyTorch `state_dict` names; see ./safetensors.ts), the
 * vocabularies and the build configuration as JSON. Node only.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Vocab, type VocabJSON } from '../data/vocab.js';
import type { Module } from '../nn/module.js';
import { CheckpointError } from '../runtime/errors.js';
import { decodeSafetensors, encodeSafetensors, parseJsonFile, type NamedArray } from './safetensors.js';
import { engine } from '../runtime/global.js';

export const WEIGHTS_FILE = 'model.safetensors';
export const VOCAB_FILE = 'vocab.json';
export const CONFIG_FILE = 'config.json';

/** What a checkpoint stores besides the weights: enough to rebuild the model (see translate.ts's registry). */
export interface CheckpointConfig {
  /** Registry key of the architecture, e.g. 'bahdanau' or 'transformer'. */
  model: string;
  /** T, the source length the model was trained with. */
  numSteps: number;
  /** Architecture hyperparameters, passed back to the builder. */
  [key: string]: unknown;
}

export interface Checkpoint {
  config: CheckpointConfig;
  srcVocab: Vocab;
  tgtVocab: Vocab;
  /** state_dict name → flat float32 values, as `Module.loadStateDict` takes them. */
  weights: Record<string, Float32Array>;
  /** state_dict name → shape. */
  shapes: Record<string, number[]>;
}

/**
 * Writes `dir/model.safetensors` (every tensor of `model.namedTensors()`, PyTorch state_dict names),
 * `dir/vocab.json` ({ src, tgt } tables) and `dir/config.json`; creates `dir`. Reads the weights back from the
 * device. @returns the three paths.
 */
export async function saveCheckpoint(
  dir: string,
  model: Module,
  { srcVocab, tgtVocab, config }: { srcVocab: Vocab; tgtVocab: Vocab; config: CheckpointConfig },
): Promise<string[]> {
  const tensors: Record<string, NamedArray> = {};
  for (const [name, t] of model.namedTensors())
    tensors[name] = { shape: [...t.shape], data: Float32Array.from(await t.data()) };
  await mkdir(dir, { recursive: true });
  const paths = [WEIGHTS_FILE, VOCAB_FILE, CONFIG_FILE].map((f) => join(dir, f));
  await writeFile(paths[0], encodeSafetensors(tensors, { format: 'pt', model: config.model }));
  await writeFile(paths[1], JSON.stringify({ src: srcVocab.toJSON(), tgt: tgtVocab.toJSON() }));
  await writeFile(paths[2], `${JSON.stringify(config, null, 2)}\n`);
  return paths;
}

/** Reads a file of the checkpoint, or throws a {@link CheckpointError} naming it. */
async function readPart(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (e) {
    throw new CheckpointError(path, `cannot be read (${(e as Error).message})`);
  }
}

/** `vocab.json`: `{ src, tgt }` tables, each checked by `Vocab.fromJSON`. */
function parseVocabs(text: string, file: string): { srcVocab: Vocab; tgtVocab: Vocab } {
  const json = parseJsonFile(text, file);
  if (!json || typeof json !== 'object' || Array.isArray(json))
    throw new CheckpointError(file, 'must be an object { src, tgt } of vocabularies');
  const vocab = (field: 'src' | 'tgt') => {
    const table = (json as Record<string, unknown>)[field];
    if (table === undefined) throw new CheckpointError(file, 'missing', field);
    try {
      return Vocab.fromJSON(table as VocabJSON);
    } catch (e) {
      throw new CheckpointError(file, (e as Error).message.replace(/^Vocab\.fromJSON: /, ''), field);
    }
  };
  return { srcVocab: vocab('src'), tgtVocab: vocab('tgt') };
}

/** `config.json`: an object with a non-empty `model` name and a positive integer `numSteps`. */
function parseConfig(text: string, file: string): CheckpointConfig {
  const json = parseJsonFile(text, file);
  if (!json || typeof json !== 'object' || Array.isArray(json))
    throw new CheckpointError(file, 'must be an object { model, numSteps, … }');
  const config = json as Record<string, unknown>;
  if (typeof config.model !== 'string' || config.model === '')
    throw new CheckpointError(
      file,
      `must name the architecture, got ${JSON.stringify(config.model)}`,
      'model',
    );
  if (!Number.isInteger(config.numSteps) || (config.numSteps as number) < 1)
    throw new CheckpointError(
      file,
      `must be a positive integer, got ${JSON.stringify(config.numSteps)}`,
      'numSteps',
    );
  return config as CheckpointConfig;
}

/**
 * Reads a checkpoint written by {@link saveCheckpoint}, validating its three files.
 * @throws CheckpointError naming the file (and the field) when a file is missing or unreadable, or malformed (see
 *   {@link decodeSafetensors}; `vocab.json` must hold `{ src, tgt }` tables that `Vocab.fromJSON` accepts;
 *   `config.json` a `model` name and a positive integer `numSteps`).
 */
export async function loadCheckpoint(dir: string): Promise<Checkpoint> {
  const [weightsPath, vocabPath, configPath] = [WEIGHTS_FILE, VOCAB_FILE, CONFIG_FILE].map((f) =>
    join(dir, f),
  );
  const [bytes, vocabBytes, configBytes] = await Promise.all(
    [weightsPath, vocabPath, configPath].map(readPart),
  );
  const { tensors } = decodeSafetensors(bytes, weightsPath);
  const { srcVocab, tgtVocab } = parseVocabs(vocabBytes.toString('utf8'), vocabPath);
  const config = parseConfig(configBytes.toString('utf8'), configPath);
  const weights: Record<string, Float32Array> = {};
  const shapes: Record<string, number[]> = {};
  for (const [name, { shape, data }] of Object.entries(tensors)) {
    weights[name] = data;
    shapes[name] = shape;
  }
  return { config, srcVocab, tgtVocab, weights, shapes };
}

/**
 * Loads a checkpoint and rebuilds its model: `build(config, srcVocab, tgtVocab)` constructs a fresh model (e.g.
 * from translate.ts's registry), whose tensors are then replaced by the saved ones (`loadStateDict`). When anything
 * fails, every tensor created meanwhile (on the current engine) is disposed before the error propagates.
 * @throws CheckpointError from {@link loadCheckpoint}; CheckpointError naming `config.json` when `build` rejects
 *   the configuration (a missing or invalid hyperparameter); CheckpointError naming `model.safetensors` and the
 *   tensor when one the model needs is missing or its shape differs from the built model's.
 */
export async function loadModel<M extends Module>(
  dir: string,
  build: (config: CheckpointConfig, srcVocab: Vocab, tgtVocab: Vocab) => M,
): Promise<{ model: M; checkpoint: Checkpoint }> {
  const checkpoint = await loadCheckpoint(dir);
  const weightsPath = join(dir, WEIGHTS_FILE);
  const e = engine();
  const before = new Set(e.liveTensors());
  try {
    let model: M;
    try {
      model = build(checkpoint.config, checkpoint.srcVocab, checkpoint.tgtVocab);
    } catch (err) {
      if (err instanceof CheckpointError && err.file === CONFIG_FILE)
        throw new CheckpointError(join(dir, CONFIG_FILE), err.detail, err.field);
      throw new CheckpointError(
        join(dir, CONFIG_FILE),
        `the "${checkpoint.config.model}" model cannot be built from it: ${(err as Error).message}`,
      );
    }
    for (const [name, t] of model.namedTensors()) {
      const saved = checkpoint.shapes[name];
      if (!saved)
        throw new CheckpointError(
          weightsPath,
          `missing, and the ${checkpoint.config.model} model needs it`,
          name,
        );
      if (saved.join() !== t.shape.join())
        throw new CheckpointError(
          weightsPath,
          `(${saved.join(', ')}) in the checkpoint, (${t.shape.join(', ')}) in the model the config describes`,
          name,
        );
    }
    model.loadStateDict(checkpoint.weights);
    return { model, checkpoint };
  } catch (err) {
    for (const t of e.liveTensors()) if (!before.has(t)) t.dispose();
    throw err;
  }
}

export {
  decodeSafetensors,
  encodeSafetensors,
  parseJsonFile,
  type NamedArray,
  type SafetensorsEntry,
} from './safetensors.js';
