/**
 * A model checkpoint in memory, for Node and the browser alike: the three files of a checkpoint folder as bytes —
 * `model.safetensors` (every tensor of `model.namedTensors()` under its PyTorch state_dict name, so
 * `model.load_state_dict(safetensors.torch.load_file(path), strict=True)` takes it; see
 * scripts/torch/checkpoint.py), `vocab.json` (`{ src, tgt }` vocabularies) and `config.json` (the architecture's
 * name and hyperparameters) — with their validation, and the rebuilding of a model from them. Node keeps the files
 * in a folder (./checkpoint.ts), the browser in IndexedDB or as `File`s (./checkpoint_browser.ts).
 */
import { Vocab, type VocabJSON } from '../data/vocab.js';
import type { Module } from '../nn/module.js';
import { CheckpointError } from '../runtime/errors.js';
import { engine } from '../runtime/global.js';
import { decodeSafetensors, encodeSafetensors, parseJsonFile, readTensors } from './safetensors.js';

export const WEIGHTS_FILE = 'model.safetensors';
export const VOCAB_FILE = 'vocab.json';
export const CONFIG_FILE = 'config.json';
/** The files of a checkpoint, in the order they are written and checked. */
export const CHECKPOINT_FILES = [WEIGHTS_FILE, VOCAB_FILE, CONFIG_FILE] as const;
export type CheckpointFileName = (typeof CHECKPOINT_FILES)[number];
/** Each file's bytes, by file name. */
export type CheckpointFiles = Record<CheckpointFileName, Uint8Array>;

/** What a checkpoint stores besides the weights: enough to rebuild the model (see translate.ts's registry). */
export interface CheckpointConfig {
  /** Registry key of the architecture, e.g. 'bahdanau' or 'transformer'. */
  model: string;
  /** T, the source length the model was trained with. */
  numSteps: number;
  /** Architecture hyperparameters, passed back to the builder. */
  [key: string]: unknown;
}

/** What a save takes besides the model. */
export interface CheckpointContents {
  srcVocab: Vocab;
  tgtVocab: Vocab;
  config: CheckpointConfig;
}

export interface Checkpoint extends CheckpointContents {
  /** state_dict name → flat float32 values, as `Module.loadStateDict` takes them. */
  weights: Record<string, Float32Array>;
  /** state_dict name → shape. */
  shapes: Record<string, number[]>;
}

/** A fresh model for a checkpoint's configuration and vocabularies; its weights are then replaced. */
export type ModelBuilder<M extends Module> = (
  config: CheckpointConfig,
  srcVocab: Vocab,
  tgtVocab: Vocab,
) => M;

/** Where a file of the checkpoint lives, for error messages (a path, an IndexedDB record, an uploaded file). */
export type FileLocation = (file: CheckpointFileName) => string;

/**
 * The three files of a checkpoint of `model`: its tensors (read back from the device) as safetensors with
 * metadata `{ format: 'pt', model: config.model }`, the vocabularies and the configuration as JSON.
 */
export async function encodeCheckpoint(
  model: Module,
  { srcVocab, tgtVocab, config }: CheckpointContents,
): Promise<CheckpointFiles> {
  const tensors = await readTensors(model);
  const text = new TextEncoder();
  return {
    [WEIGHTS_FILE]: encodeSafetensors(tensors, { format: 'pt', model: config.model }),
    [VOCAB_FILE]: text.encode(JSON.stringify({ src: srcVocab.toJSON(), tgt: tgtVocab.toJSON() })),
    [CONFIG_FILE]: text.encode(`${JSON.stringify(config, null, 2)}\n`),
  };
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
 * Parses and validates the three files of a checkpoint (written by {@link encodeCheckpoint} or by PyTorch).
 * @param where names each file in errors (default: the bare file name).
 * @throws CheckpointError naming the file (and the field) when one is malformed: see `decodeSafetensors`;
 *   `vocab.json` must hold `{ src, tgt }` tables that `Vocab.fromJSON` accepts; `config.json` a `model` name and a
 *   positive integer `numSteps`.
 */
export function decodeCheckpoint(files: CheckpointFiles, where: FileLocation = (f) => f): Checkpoint {
  const { tensors } = decodeSafetensors(files[WEIGHTS_FILE], where(WEIGHTS_FILE));
  const text = new TextDecoder();
  const { srcVocab, tgtVocab } = parseVocabs(text.decode(files[VOCAB_FILE]), where(VOCAB_FILE));
  const config = parseConfig(text.decode(files[CONFIG_FILE]), where(CONFIG_FILE));
  const weights: Record<string, Float32Array> = {};
  const shapes: Record<string, number[]> = {};
  for (const [name, { shape, data }] of Object.entries(tensors)) {
    weights[name] = data;
    shapes[name] = shape;
  }
  return { config, srcVocab, tgtVocab, weights, shapes };
}

/**
 * Rebuilds a checkpoint's model: `build(config, srcVocab, tgtVocab)` constructs a fresh model (e.g. from
 * translate.ts's registry, or `buildTransformer`), whose tensors are then replaced by the saved ones
 * (`loadStateDict`). When anything fails, every tensor created meanwhile (on the current engine) is disposed
 * before the error propagates.
 * @param where names each file in errors (default: the bare file name).
 * @throws CheckpointError naming `config.json` when `build` rejects the configuration (a missing or invalid
 *   hyperparameter); CheckpointError naming `model.safetensors` and the tensor when one the model needs is missing
 *   or its shape differs from the built model's, or when the checkpoint holds a tensor the model has not (PyTorch's
 *   `strict=True`).
 */
export function modelFromCheckpoint<M extends Module>(
  checkpoint: Checkpoint,
  build: ModelBuilder<M>,
  where: FileLocation = (f) => f,
): M {
  const e = engine();
  const before = new Set(e.liveTensors());
  try {
    let model: M;
    try {
      model = build(checkpoint.config, checkpoint.srcVocab, checkpoint.tgtVocab);
    } catch (err) {
      if (err instanceof CheckpointError && err.file === CONFIG_FILE)
        throw new CheckpointError(where(CONFIG_FILE), err.detail, err.field);
      throw new CheckpointError(
        where(CONFIG_FILE),
        `the "${checkpoint.config.model}" model cannot be built from it: ${(err as Error).message}`,
      );
    }
    for (const [name, t] of model.namedTensors()) {
      const saved = checkpoint.shapes[name];
      if (!saved)
        throw new CheckpointError(
          where(WEIGHTS_FILE),
          `missing, and the ${checkpoint.config.model} model needs it`,
          name,
        );
      if (saved.join() !== t.shape.join())
        throw new CheckpointError(
          where(WEIGHTS_FILE),
          `(${saved.join(', ')}) in the checkpoint, (${t.shape.join(', ')}) in the model the config describes`,
          name,
        );
    }
    // Strict, as PyTorch's load_state_dict by default: a tensor the model lacks means another architecture.
    const own = new Set(model.namedTensors().map(([name]) => name));
    const extra = Object.keys(checkpoint.shapes).find((name) => !own.has(name));
    if (extra !== undefined)
      throw new CheckpointError(
        where(WEIGHTS_FILE),
        `not a tensor of the ${checkpoint.config.model} model the config describes`,
        extra,
      );
    model.loadStateDict(checkpoint.weights);
    return model;
  } catch (err) {
    for (const t of e.liveTensors()) if (!before.has(t)) t.dispose();
    throw err;
  }
}
