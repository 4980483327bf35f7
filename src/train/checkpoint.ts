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
import { CheckpointError } from '../runtime/errors.js';
import { engine } from '../runtime/global.js';

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

/** The reference implementation's bound on the header (safetensors `MAX_HEADER_SIZE`): a larger one is corrupt. */
const MAX_HEADER_BYTES = 100_000_000;

/** Bytes per element of every dtype the format defines (safetensors `Dtype`). */
const DTYPE_BYTES: Record<string, number> = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E5M2: 1,
  F8_E4M3: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  I64: 8,
  U64: 8,
  F64: 8,
};

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

/** Parses JSON text, or throws a {@link CheckpointError} naming the file and the parser's complaint. */
export function parseJsonFile(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new CheckpointError(file, `not valid JSON (${(e as Error).message})`);
  }
}

/**
 * Parses a safetensors file holding F32 tensors, checking everything the format promises: the header length is
 * within the file and at most 100 MB, the header is a UTF-8 JSON object, every dtype is known (and F32), shapes are
 * non-negative integers, `shape × 4 = end − begin`, and the offsets are non-negative integers that cover the data
 * buffer exactly, in order, without gaps or overlaps.
 * @param file the path or name the errors give (default `'safetensors'`).
 * @returns the header (as JSON, `__metadata__` included) and each tensor's shape and values.
 * @throws CheckpointError naming the file, and the tensor and field where one is at fault, for an empty or
 *   truncated file, a corrupt header, an unknown or unsupported dtype, a missing or malformed field, or offsets
 *   that are negative, overlap, leave gaps, do not match the shape or run past the end of the file.
 */
export function decodeSafetensors(
  bytes: Uint8Array,
  file = 'safetensors',
): {
  header: Record<string, unknown>;
  metadata: Record<string, string>;
  tensors: Record<string, NamedArray>;
} {
  const fail = (message: string, field?: string) => new CheckpointError(file, message, field);
  if (bytes.length < 8)
    throw fail(
      `${bytes.length} bytes, shorter than the 8-byte header length: the file is empty or truncated`,
    );
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = dv.getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES))
    throw fail(
      `header length ${n} is over the format's limit of ${MAX_HEADER_BYTES} bytes: the file is corrupt`,
    );
  if (8n + n > BigInt(bytes.length))
    throw fail(
      `header length ${n} runs past the end of the file (${bytes.length} bytes): truncated or corrupt`,
    );
  const base = 8 + Number(n);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, base));
  } catch {
    throw fail('the header is not valid UTF-8: the file is corrupt');
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    throw fail(`the header is not valid JSON (${(e as Error).message}): the file is corrupt`);
  }
  if (!isObject(header)) throw fail('the header must be a JSON object of tensor entries');
  const metadata = header.__metadata__ ?? {};
  if (!isObject(metadata) || Object.values(metadata).some((v) => typeof v !== 'string'))
    throw fail('must be an object of strings', '__metadata__');

  const dataBytes = bytes.length - base;
  const entries: { name: string; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    if (!isObject(entry)) throw fail('must be an object { dtype, shape, data_offsets }', name);
    const { dtype, shape, data_offsets: offsets } = entry;
    if (typeof dtype !== 'string')
      throw fail(`missing or not a string (got ${JSON.stringify(dtype)})`, `${name}.dtype`);
    if (!(dtype in DTYPE_BYTES))
      throw fail(
        `unknown dtype ${JSON.stringify(dtype)} (the format defines ${Object.keys(DTYPE_BYTES).join(', ')})`,
        `${name}.dtype`,
      );
    if (dtype !== 'F32') throw fail(`dtype ${dtype} is not supported; only F32 is`, `${name}.dtype`);
    if (!Array.isArray(shape) || !shape.every(isCount))
      throw fail(`must be an array of non-negative integers (got ${JSON.stringify(shape)})`, `${name}.shape`);
    if (!Array.isArray(offsets) || offsets.length !== 2)
      throw fail(`must be [begin, end] (got ${JSON.stringify(offsets)})`, `${name}.data_offsets`);
    const [begin, end] = offsets as unknown[];
    if (!isCount(begin) || !isCount(end) || end < begin)
      throw fail(
        `[${String(begin)}, ${String(end)}] must be non-negative integers with begin <= end`,
        `${name}.data_offsets`,
      );
    const count = shape.reduce((a, b) => a * b, 1);
    if (end - begin !== count * 4)
      throw fail(
        `[${begin}, ${end}] holds ${end - begin} bytes, but shape (${shape.join(', ')}) of F32 needs ${count * 4}`,
        `${name}.data_offsets`,
      );
    if (end > dataBytes)
      throw fail(
        `[${begin}, ${end}] runs past the end of the data (${dataBytes} bytes after the header): the file is truncated`,
        `${name}.data_offsets`,
      );
    entries.push({ name, shape, begin, end });
  }
  // The format lays tensors out back to back from offset 0 and the buffer holds nothing else.
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  let previous = '';
  for (const { name, begin, end } of entries) {
    if (begin < at)
      throw fail(`[${begin}, ${end}] overlaps "${previous}", which ends at ${at}`, `${name}.data_offsets`);
    if (begin > at)
      throw fail(
        `[${begin}, ${end}] leaves a gap: the previous tensor ends at ${at}`,
        `${name}.data_offsets`,
      );
    at = end;
    previous = name;
  }
  if (at !== dataBytes)
    throw fail(
      `${dataBytes - at} bytes after the last tensor: the offsets must cover the data exactly (corrupt file)`,
    );
  // Header order; fromEntries defines own properties, so even a tensor named "__proto__" stays data.
  const byName = new Map(entries.map((e) => [e.name, e]));
  const tensors = Object.fromEntries(
    Object.keys(header)
      .filter((name) => byName.has(name))
      .map((name) => {
        const { shape, begin } = byName.get(name)!;
        const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
        for (let i = 0; i < data.length; i++) data[i] = dv.getFloat32(base + begin + 4 * i, true);
        return [name, { shape, data }];
      }),
  ) as Record<string, NamedArray>;
  return { header, metadata: metadata as Record<string, string>, tensors };
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
