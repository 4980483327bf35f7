/**
 * Model checkpoints both ways with PyTorch (scripts/torch/checkpoint.py wrote test/fixtures/checkpoint/): a small
 * d2l Transformer initialised and saved by PyTorch loads here and gives PyTorch's eval-mode logits to 1e-5, in Node
 * (folder, loadModel) and in Chromium (File upload, IndexedDB, download Files; test/pages/checkpoint/). Our encoder
 * writes those weights back byte for byte as ours.safetensors, the file PyTorch loaded with strict=True.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { translationModel, type TranslationModel } from '../src/experiments/translate.js';
import { CheckpointError } from '../src/runtime/errors.js';
import { loadCheckpoint, loadModel, saveCheckpoint } from '../src/train/checkpoint.js';
import { checkpointFromFiles, checkpointToFiles } from '../src/train/checkpoint_browser.js';
import {
  WEIGHTS_FILE,
  decodeCheckpoint,
  encodeCheckpoint,
  modelFromCheckpoint,
  type CheckpointFiles,
  type ModelBuilder,
} from '../src/train/checkpoint_files.js';
import { encodeSafetensors } from '../src/train/safetensors.js';
import { useEngine } from './engine_fixture.js';
import { openTestPage } from './browser.js';
import {
  TOLERANCE,
  TORCH_FILES,
  buildFromConfig,
  logitsOf,
  maxAbsDiff,
  sha256Hex,
  type ForwardFixture,
} from './checkpoint_torch_fixture.js';
import type { PageOutcome } from './pages/checkpoint/main.js';

const FIXTURES = join(import.meta.dirname, 'fixtures/checkpoint');
const TORCH_DIR = join(FIXTURES, 'torch');
const fixture = JSON.parse(await readFile(join(FIXTURES, 'forward.json'), 'utf8')) as ForwardFixture;
const ours = new Uint8Array(await readFile(join(FIXTURES, fixture.ours.file)));
/** The registry the translate CLI rebuilds checkpoints with. */
const registry: ModelBuilder<TranslationModel> = (c, src, tgt) =>
  translationModel(c.model).build(c, src, tgt);

const gpu = useEngine();
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ckpt-torch-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('PyTorch → here, in Node', () => {
  it("loadModel rebuilds PyTorch's checkpoint folder and gives PyTorch's eval-mode logits to 1e-5", async () => {
    const { model, checkpoint } = await loadModel(TORCH_DIR, registry);
    expect(checkpoint.config.model).toBe('transformer');
    expect(checkpoint.tgtVocab.idxToToken).toContain('gagné');
    // Every tensor of the model came from the file, and the file holds no other.
    expect(model.namedTensors().map(([n]) => n)).toEqual(Object.keys(checkpoint.shapes));
    const logits = await logitsOf(model, fixture);
    expect(maxAbsDiff(logits, fixture.logits.data)).toBeLessThan(TOLERANCE);
    model.dispose();
    expect(gpu().memoryStats().tensors).toBe(0);
  });

  it('the browser File reader gives the same checkpoint as the folder reader', async () => {
    const files = await Promise.all(
      TORCH_FILES.map(async (f) => new File([await readFile(join(TORCH_DIR, f))], f)),
    );
    expect(await checkpointFromFiles(files)).toEqual(await loadCheckpoint(TORCH_DIR));
    await expect(checkpointFromFiles(files.slice(1))).rejects.toThrow(
      /^model\.safetensors: missing: a checkpoint is the files/,
    );
    await expect(checkpointFromFiles([...files, files[1]])).rejects.toThrow(/vocab\.json: given twice/);
  });
});

describe('here → PyTorch', () => {
  it('our encoder writes those weights as ours.safetensors byte for byte, the file PyTorch loaded with strict=True', async () => {
    expect(fixture.ours.loadStateDictStrict).toBe(true);
    expect(await sha256Hex(ours)).toBe(fixture.ours.sha256);
    const { model, checkpoint } = await loadModel(TORCH_DIR, registry);
    const files = await encodeCheckpoint(model, checkpoint);
    expect(files[WEIGHTS_FILE]).toEqual(ours);
    // The Node folder and the browser download hold the same bytes.
    await saveCheckpoint(join(dir, 'saved'), model, checkpoint);
    expect(new Uint8Array(await readFile(join(dir, 'saved', WEIGHTS_FILE)))).toEqual(ours);
    const download = await checkpointToFiles(model, checkpoint);
    expect(download.map((f) => f.name)).toEqual(['model.safetensors', 'vocab.json', 'config.json']);
    for (const f of download)
      expect(new Uint8Array(await f.arrayBuffer())).toEqual(
        new Uint8Array(await readFile(join(dir, 'saved', f.name))),
      );
    model.dispose();
  });
});

describe('loading is strict, as load_state_dict(strict=True)', () => {
  it('refuses a checkpoint with a tensor the model has not, and frees what it built', async () => {
    const files = Object.fromEntries(
      await Promise.all(
        TORCH_FILES.map(async (f) => [f, new Uint8Array(await readFile(join(TORCH_DIR, f)))]),
      ),
    ) as CheckpointFiles;
    const checkpoint = decodeCheckpoint(files);
    const tensors = Object.fromEntries(
      Object.entries(checkpoint.weights).map(([n, data]) => [n, { shape: checkpoint.shapes[n], data }]),
    );
    tensors['decoder.pos_encoding.P'] = { shape: [1], data: Float32Array.from([0]) };
    const extra = decodeCheckpoint(
      { ...files, [WEIGHTS_FILE]: encodeSafetensors(tensors) },
      (f) => `upload/${f}`,
    );
    const err = (() => {
      try {
        modelFromCheckpoint(extra, buildFromConfig, (f) => `upload/${f}`);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(CheckpointError);
    expect((err as Error).message).toBe(
      'upload/model.safetensors: decoder.pos_encoding.P: not a tensor of the transformer model the config describes',
    );
    expect(gpu().memoryStats().tensors).toBe(0);
  });
});

describe('PyTorch → here → IndexedDB → download, in Chromium', () => {
  it("gives PyTorch's logits to 1e-5 from uploaded Files and from IndexedDB; the download is ours.safetensors", async () => {
    const { page, errors, close } = await openTestPage('checkpoint', 'runCheckpoint');
    try {
      const o = (await page.evaluate(
        (f: ForwardFixture) =>
          (window as unknown as { runCheckpoint: (f: ForwardFixture) => Promise<PageOutcome> }).runCheckpoint(
            f,
          ),
        fixture,
      )) as PageOutcome;
      expect(errors).toEqual([]);
      expect(maxAbsDiff(o.fromFiles, fixture.logits.data)).toBeLessThan(TOLERANCE);
      expect(o.fromIndexedDb).toEqual(o.fromFiles);
      expect(o.location).toMatch(/^indexeddb:webgpu-attention-models\/torch-fixture-\d+$/);
      expect(o.downloadNames).toEqual(['model.safetensors', 'vocab.json', 'config.json']);
      expect(o.downloadSha256).toBe(fixture.ours.sha256);
      expect(o.downloadConfig).toEqual(JSON.parse(await readFile(join(TORCH_DIR, 'config.json'), 'utf8')));
      expect(o.afterDelete).toEqual({
        name: 'CheckpointError',
        message: `${o.location}: no checkpoint is saved under this name`,
      });
      expect(o.leftoverTensors).toBe(0);
    } finally {
      await close();
    }
  });
});
