/**
 * The safetensors format (https://github.com/huggingface/safetensors, "Format"), in memory, for Node and the
 * browser alike: an 8-byte little-endian unsigned header size N, then N bytes of UTF-8 JSON `{ name: { dtype,
 * shape, data_offsets: [begin, end] }, __metadata__: { string: string } }`, then the byte buffer; offsets are
 * relative to the buffer's start, tensors are row-major little-endian and together cover the buffer without holes.
 * The header may be padded with spaces (the reference writer pads to a multiple of 8 so the buffer is aligned).
 */
import type { Module } from '../nn/module.js';
import { CheckpointError } from '../runtime/errors.js';

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
 * Every tensor of `model` (`namedTensors()`, PyTorch state_dict names), read back from the device, keyed
 * `prefix + name`: what {@link encodeSafetensors} takes.
 */
export async function readTensors(model: Module, prefix = ''): Promise<Record<string, NamedArray>> {
  const tensors: Record<string, NamedArray> = {};
  for (const [name, t] of model.namedTensors())
    tensors[prefix + name] = { shape: [...t.shape], data: Float32Array.from(await t.data()) };
  return tensors;
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
