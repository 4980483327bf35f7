/**
 * Corrupt checkpoints give a clear CheckpointError naming the file (and the tensor or field), never garbage or a bare
 * SyntaxError / TypeError, and a failed load frees every tensor it built. Covers truncation at many points, empty
 * files, flipped header bytes, negative / overlapping / out-of-bounds offsets, unknown dtypes, missing fields, a
 * header length larger than the file, corrupt vocab.json and config.json, and the translate CLI's output.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Random } from '../src/data/random.js';
import { Vocab } from '../src/data/vocab.js';
import { TRANSLATION_MODELS, translationModel } from '../src/experiments/translate.js';
import { CheckpointError } from '../src/runtime/errors.js';
import {
  CONFIG_FILE,
  VOCAB_FILE,
  WEIGHTS_FILE,
  decodeSafetensors,
  encodeSafetensors,
  loadModel,
  saveCheckpoint,
} from '../src/train/checkpoint.js';
import { useEngine } from './engine_fixture.js';

/** A valid file: three F32 tensors back to back. */
const valid = encodeSafetensors(
  {
    a: { shape: [2], data: Float32Array.from([1, -2]) },
    'b.c': { shape: [1, 3], data: Float32Array.from([0.5, 0.25, 4]) },
    d: { shape: [], data: Float32Array.from([7]) },
  },
  { format: 'pt' },
);
const headerLength = Number(new DataView(valid.buffer).getBigUint64(0, true));
const header = () => JSON.parse(new TextDecoder().decode(valid.subarray(8, 8 + headerLength)));
const dataOf = () => valid.subarray(8 + headerLength);

/** A file from a header object and a data buffer (the header length written as given, or the true one). */
function file(h: unknown, data: Uint8Array = dataOf(), length?: bigint): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(h));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, length ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

/** Decoding `bytes` throws a CheckpointError naming the file, whose message matches `pattern`. */
function rejects(bytes: Uint8Array, pattern: RegExp): CheckpointError {
  let err: unknown;
  try {
    decodeSafetensors(bytes, 'ckpt/model.safetensors');
  } catch (e) {
    err = e;
  }
  expect(err, `expected an error matching ${pattern}`).toBeInstanceOf(CheckpointError);
  expect((err as Error).message).toMatch(/^ckpt\/model\.safetensors: /);
  expect((err as Error).message).toMatch(pattern);
  return err as CheckpointError;
}

describe('decodeSafetensors on corrupt files', () => {
  it('decodes the valid file', () => {
    const { tensors } = decodeSafetensors(valid);
    expect(Object.keys(tensors)).toEqual(['a', 'b.c', 'd']);
    expect(Array.from(tensors['b.c'].data)).toEqual([0.5, 0.25, 4]);
  });

  it('empty, or truncated at any point', () => {
    rejects(new Uint8Array(0), /0 bytes, shorter than the 8-byte header length.*empty or truncated/);
    const cuts = [
      1,
      4,
      7,
      8,
      9,
      8 + headerLength / 2,
      8 + headerLength - 1,
      8 + headerLength,
      valid.length - 4,
    ];
    for (const n of [...cuts, valid.length - 1].map(Math.floor))
      rejects(valid.subarray(0, n), /shorter|runs past the end of the file|truncated/);
    // Cut in the middle of the data: named as truncation, not as a shape mismatch.
    const err = rejects(valid.subarray(0, valid.length - 8), /runs past the end of the data .*truncated/);
    expect(err.field).toBe('b.c.data_offsets');
  });

  it('a header length larger than the file, or over the format limit', () => {
    rejects(
      file(header(), dataOf(), BigInt(valid.length)),
      /header length \d+ runs past the end of the file/,
    );
    rejects(file(header(), dataOf(), 2n ** 63n), /over the format's limit of 100000000 bytes/);
  });

  it('flipped header bytes: a CheckpointError or a file that still decodes within bounds, never another error', () => {
    for (let i = 8; i < 8 + headerLength; i++)
      for (const mask of [0x01, 0x20, 0xff]) {
        const bytes = Uint8Array.from(valid);
        bytes[i] ^= mask;
        try {
          const { tensors } = decodeSafetensors(bytes, 'f');
          // A flip inside a name or the metadata leaves a valid file: the values are the original ones.
          const all = Object.values(tensors).flatMap((t) => Array.from(t.data));
          expect(all).toEqual([1, -2, 0.5, 0.25, 4, 7]);
        } catch (e) {
          expect(e, `byte ${i} ^ ${mask}: ${String(e)}`).toBeInstanceOf(CheckpointError);
        }
      }
    rejects(Uint8Array.from([...valid.subarray(0, 8), 0xff, ...valid.subarray(9)]), /not valid UTF-8/);
    const h = Uint8Array.from(valid);
    h[8] = '['.charCodeAt(0);
    rejects(h, /not valid JSON \(.+\): the file is corrupt/);
  });

  it('negative, reversed, overlapping, gapped and out-of-bounds offsets', () => {
    const h = header();
    rejects(
      file({ ...h, a: { ...h.a, data_offsets: [-8, 0] } }),
      /a\.data_offsets: \[-8, 0\] must be non-negative/,
    );
    rejects(file({ ...h, a: { ...h.a, data_offsets: [8, 0] } }), /begin <= end/);
    rejects(file({ ...h, a: { ...h.a, data_offsets: [0.5, 8.5] } }), /non-negative integers/);
    rejects(
      file({ ...h, 'b.c': { ...h['b.c'], data_offsets: [4, 16] } }),
      /b\.c\.data_offsets: \[4, 16\] overlaps "a"/,
    );
    rejects(
      file({ ...h, a: { ...h.a, data_offsets: [4, 12] }, 'b.c': { ...h['b.c'], data_offsets: [12, 24] } }),
      /leaves a gap|overlaps/,
    );
    rejects(
      file({ ...h, d: { ...h.d, data_offsets: [24, 28] } }),
      /d\.data_offsets: \[24, 28\] runs past the end/,
    );
    rejects(file(h, Uint8Array.from([...dataOf(), 0, 0, 0, 0])), /4 bytes after the last tensor/);
  });

  it('unknown or unsupported dtypes, bad shapes, missing fields', () => {
    const h = header();
    rejects(file({ ...h, a: { ...h.a, dtype: 'F33' } }), /a\.dtype: unknown dtype "F33"/);
    rejects(file({ ...h, a: { ...h.a, dtype: 'F16', data_offsets: [0, 4] } }), /dtype F16 is not supported/);
    rejects(
      file({ ...h, a: { ...h.a, shape: [3] } }),
      /a\.data_offsets: \[0, 8\] holds 8 bytes, but shape \(3\)/,
    );
    rejects(
      file({ ...h, a: { ...h.a, shape: [-2] } }),
      /a\.shape: must be an array of non-negative integers/,
    );
    for (const field of ['dtype', 'shape', 'data_offsets']) {
      const entry = { ...h.a };
      delete entry[field];
      rejects(file({ ...h, a: entry }), new RegExp(`a(\\.${field})?: `));
    }
    rejects(file({ ...h, a: 3 }), /a: must be an object/);
    rejects(file([1, 2]), /the header must be a JSON object/);
    rejects(file({ ...h, __metadata__: { format: 3 } }), /__metadata__: must be an object of strings/);
  });
});

describe('loading a corrupt checkpoint directory', () => {
  const cpu = useEngine('cpu');
  let dir: string;
  const spec = TRANSLATION_MODELS.bahdanau;
  const config = {
    model: 'bahdanau',
    numSteps: 4,
    ...spec.hyperparameters,
    embedSize: 3,
    numHiddens: 4,
    numLayers: 1,
  };
  const build = (c: typeof config, src: Vocab, tgt: Vocab) =>
    translationModel(c.model).build(c, src, tgt, new Random(0));

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ckpt-fuzz-'));
    const src = new Vocab(['go', '.'], { minFreq: 1 });
    const tgt = new Vocab(['va', '!'], { minFreq: 1 });
    const model = build(config, src, tgt);
    await saveCheckpoint(dir, model, { srcVocab: src, tgtVocab: tgt, config });
    model.dispose();
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** A copy of the checkpoint with one file replaced. */
  async function variant(name: string, contents: string | Uint8Array): Promise<string> {
    const d = await mkdtemp(join(dir, 'v-'));
    for (const f of [WEIGHTS_FILE, VOCAB_FILE, CONFIG_FILE])
      await writeFile(join(d, f), f === name ? contents : await readFile(join(dir, f)));
    return d;
  }

  async function loadFails(d: string, pattern: RegExp): Promise<CheckpointError> {
    const before = cpu().memoryStats().tensors;
    const err = await loadModel(d, build as never).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CheckpointError);
    expect((err as Error).message).toMatch(pattern);
    expect(cpu().memoryStats().tensors).toBe(before);
    return err as CheckpointError;
  }

  it('loads the intact checkpoint', async () => {
    const { model } = await loadModel(dir, build as never);
    model.dispose();
    expect(cpu().memoryStats().tensors).toBe(0);
  });

  it('corrupt or half-truncated weights name model.safetensors', async () => {
    const bytes = await readFile(join(dir, WEIGHTS_FILE));
    await loadFails(
      await variant(WEIGHTS_FILE, bytes.subarray(0, bytes.length >> 1)),
      /model\.safetensors: .*truncated/,
    );
    await loadFails(
      await variant(WEIGHTS_FILE, new Uint8Array(0)),
      /model\.safetensors: .*empty or truncated/,
    );
  });

  it('a weights file without a tensor the model needs frees the tensors the build made', async () => {
    const { tensors } = decodeSafetensors(await readFile(join(dir, WEIGHTS_FILE)));
    const names = Object.keys(tensors);
    delete tensors[names[names.length - 1]];
    const err = await loadFails(
      await variant(WEIGHTS_FILE, encodeSafetensors(tensors)),
      /missing, and the bahdanau/,
    );
    expect(err.field).toBe(names[names.length - 1]);
  });

  it('vocab.json: bad JSON, a missing table, a bad entry — each names the file and the field', async () => {
    await loadFails(await variant(VOCAB_FILE, '{"src": '), /vocab\.json: not valid JSON/);
    await loadFails(
      await variant(VOCAB_FILE, '{"src": {"idxToToken": ["<unk>"]}}'),
      /vocab\.json: tgt: missing/,
    );
    const err = await loadFails(
      await variant(VOCAB_FILE, '{"src": {"idxToToken": ["<unk>", 3]}, "tgt": {"idxToToken": ["<unk>"]}}'),
      /vocab\.json: src: idxToToken\[1\] is 3, not a string/,
    );
    expect(err.field).toBe('src');
  });

  it('config.json: bad JSON, missing fields, an unknown model — each names the file and the field', async () => {
    await loadFails(await variant(CONFIG_FILE, 'model: bahdanau'), /config\.json: not valid JSON/);
    const { embedSize: _e, ...noEmbed } = config;
    const err = await loadFails(
      await variant(CONFIG_FILE, JSON.stringify(noEmbed)),
      /config\.json: embedSize: must be a positive integer, got undefined/,
    );
    expect(err.field).toBe('embedSize');
    await loadFails(
      await variant(CONFIG_FILE, JSON.stringify({ ...config, numSteps: 0 })),
      /numSteps: must be/,
    );
    await loadFails(
      await variant(CONFIG_FILE, JSON.stringify({ ...config, model: 'gpt' })),
      /config\.json: the "gpt" model cannot be built from it: unknown model "gpt"/,
    );
    await loadFails(
      await variant(CONFIG_FILE, JSON.stringify({ ...config, numHiddens: 5 })),
      /model\.safetensors: .*in the checkpoint, .* in the model the config describes/,
    );
  });

  it('the translate CLI prints the message, not a stack trace; --debug adds the stack', async () => {
    const d = await variant(CONFIG_FILE, '{');
    const run = (extra: string[]) =>
      promisify(execFile)(
        'npx',
        ['vite-node', 'src/translate_cli.ts', '--', '--device', 'cpu', '--checkpoint', d, ...extra, 'go .'],
        { timeout: 60_000 },
      ).then(
        () => ({ code: 0, stderr: '' }),
        (e: { code: number; stderr: string }) => e,
      );
    const plain = await run([]);
    expect(plain.code).toBe(1);
    expect(plain.stderr).toMatch(/^error: .*config\.json: not valid JSON/m);
    expect(plain.stderr).not.toMatch(/^\s+at /m);
    const debug = await run(['--debug']);
    expect(debug.code).toBe(1);
    expect(debug.stderr).toMatch(/^\s+at /m);
  }, 120_000);
});
