/**
 * Checkpoints of a trained translation model: the weights as a `.safetensors` file (readable by
 * `safetensors.torch.load_file` in Python, with PyTorch `state_dict` names), the vocabularies and the build
 * configuration as JSON. Node only.
 *
 * The safetensors format (https://github.com/huggingface/safetensors, "Format"): an 8-byte little-endian unsigned
 * header size N, then N bytes of UTF-8 JSON `{ name: { dtype, shape, data_offsets: [begin, end] }, __metadata__:
 * { string: string } }`, then the byte buffer; offsets are relative to the buffer's start, tensors are row-major
 * little-endian and together cover the buffer without holes. The header may be padded with spaces (the reference
 * writer pads to a multiple of 8 so the buffer is aligned).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Vocab, type VocabJSON } from '../data/vocab.js';
import type { Module } from '../nn/module.js';

export const WEIGHTS_FILE = 'model.safetensors';
export const VOCAB_FILE = 'vocab.json';
export const CONFIG_FILE = 'config.json';

/** One tensor's entry in a safetensors header. */
export interface SafetensorsEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

export interface NamedArray {
  shape: number[];
  data: Float32Array;
}

/**
 * Serialises float32 tensors to the safetensors format, in the given order.
 * @param tensors name → { shape, data } with data.length = Π shape.
 * @param metadata string → string, stored as `__metadata__`.
 * @throws Error for a name `__metadata__` or data that does not fill its shape.
 */
export function encodeSafetensors(
  tensors: Record<string, NamedArray>,
  metadata: Record<string, string> = {},
): Uint8Array {
  const header: Record<string, SafetensorsEntry | Record<string, string>> = { __metadata__: metadata };
  let offset = 0;
  for (const [name, { shape, data }] of Object.entries(tensors)) {
    if (name === '__metadata__') throw new Error('encodeSafetensors: "__metadata__" is not a tensor name');
    if (data.length !== shape.reduce((a, b) => a * b, 1))
      throw new Error(
        `encodeSafetensors: "${name}" has ${data.length} values for shape (${shape.join(', ')})`,
      );
    header[name] = { dtype: 'F32', shape, data_offsets: [offset, offset + data.byteLength] };
    offset += data.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((new TextEncoder().encode(json).length + 8) % 8)) % 8);
  const head = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + head.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  const view = new DataView(out.buffer, 8 + head.length);
  let pos = 0;
  for (const { data } of Object.values(tensors))
    for (const v of data) {
      view.setFloat32(pos, v, true);
      pos += 4;
    }
  return out;
}

/**
 * Parses a safetensors file holding F32 tensors.
 * @returns the header (as JSON, `__metadata__` included) and each tensor's shape and values.
 * @throws Error when the file is truncated, the header is not JSON, a dtype is not F32, or offsets do not match
 *   the shapes or leave the buffer.
 */
export function decodeSafetensors(bytes: Uint8Array): {
  header: Record<string, unknown>;
  metadata: Record<string, string>;
  tensors: Record<string, NamedArray>;
} {
  if (bytes.length < 8) throw new Error('safetensors: file shorter than its 8-byte header size');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(dv.getBigUint64(0, true));
  if (8 + n > bytes.length) throw new Error(`safetensors: header of ${n} bytes overruns the file`);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as Record<string, unknown>;
  const base = 8 + n;
  const tensors: Record<string, NamedArray> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const {
      dtype,
      shape,
      data_offsets: [begin, end],
    } = entry as SafetensorsEntry;
    if (dtype !== 'F32') throw new Error(`safetensors: "${name}" has dtype ${dtype}; only F32 is supported`);
    const count = shape.reduce((a, b) => a * b, 1);
    if (end - begin !== count * 4 || base + end > bytes.length)
      throw new Error(
        `safetensors: "${name}" offsets [${begin}, ${end}] do not fit shape (${shape.join(', ')})`,
      );
    const data = new Float32Array(count);
    for (let i = 0; i < count; i++) data[i] = dv.getFloat32(base + begin + 4 * i, true);
    tensors[name] = { shape, data };
  }
  return { header, metadata: (header.__metadata__ ?? {}) as Record<string, string>, tensors };
}

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

/**
 * Reads a checkpoint written by {@link saveCheckpoint}.
 * @throws Error when a file is missing or malformed (see {@link decodeSafetensors}, `Vocab.fromJSON`).
 */
export async function loadCheckpoint(dir: string): Promise<Checkpoint> {
  const [bytes, vocabText, configText] = await Promise.all([
    readFile(join(dir, WEIGHTS_FILE)),
    readFile(join(dir, VOCAB_FILE), 'utf8'),
    readFile(join(dir, CONFIG_FILE), 'utf8'),
  ]);
  const { tensors } = decodeSafetensors(bytes);
  const vocab = JSON.parse(vocabText) as { src: VocabJSON; tgt: VocabJSON };
  const weights: Record<string, Float32Array> = {};
  const shapes: Record<string, number[]> = {};
  for (const [name, { shape, data }] of Object.entries(tensors)) {
    weights[name] = data;
    shapes[name] = shape;
  }
  return {
    config: JSON.parse(configText) as CheckpointConfig,
    srcVocab: Vocab.fromJSON(vocab.src),
    tgtVocab: Vocab.fromJSON(vocab.tgt),
    weights,
    shapes,
  };
}

/**
 * Loads a checkpoint and rebuilds its model: `build(config, srcVocab, tgtVocab)` constructs a fresh model (e.g.
 * from translate.ts's registry), whose tensors are then replaced by the saved ones (`loadStateDict`).
 * @throws Error when a saved name is missing or has the wrong size (from `loadStateDict`), or a tensor's shape
 *   differs from the built model's.
 */
export async function loadModel<M extends Module>(
  dir: string,
  build: (config: CheckpointConfig, srcVocab: Vocab, tgtVocab: Vocab) => M,
): Promise<{ model: M; checkpoint: Checkpoint }> {
  const checkpoint = await loadCheckpoint(dir);
  const model = build(checkpoint.config, checkpoint.srcVocab, checkpoint.tgtVocab);
  for (const [name, t] of model.namedTensors()) {
    const saved = checkpoint.shapes[name];
    if (saved && saved.join() !== t.shape.join())
      throw new Error(
        `loadModel: "${name}" is (${saved.join(', ')}) in ${dir}, the model's (${t.shape.join(', ')})`,
      );
  }
  model.loadStateDict(checkpoint.weights);
  return { model, checkpoint };
}
