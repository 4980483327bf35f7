/**
 * Checkpoints: the safetensors bytes follow the format's spec (https://github.com/huggingface/safetensors), and a
 * save → load round trip rebuilds a model with identical weights and identical translations.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Random } from '../src/data/random.js';
import { nmtData } from '../src/data/translation_arrays.js';
import { TRANSLATION_MODELS, translationModel } from '../src/experiments/translate.js';
import {
  decodeSafetensors,
  encodeSafetensors,
  loadCheckpoint,
  loadModel,
  saveCheckpoint,
} from '../src/train/checkpoint.js';
import { predictSeq2Seq } from '../src/train/predict.js';
import { trainSeq2Seq } from '../src/train/trainer.js';
import { useEngine } from './engine_fixture.js';

useEngine();
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ckpt-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('safetensors', () => {
  it('writes the documented layout: u64 LE header size, JSON header, aligned little-endian F32 data', () => {
    const bytes = encodeSafetensors(
      {
        a: { shape: [2], data: Float32Array.from([1, -2]) },
        'b.c': { shape: [1, 1], data: Float32Array.from([0.5]) },
      },
      { format: 'pt' },
    );
    const dv = new DataView(bytes.buffer);
    const n = Number(dv.getBigUint64(0, true));
    expect((8 + n) % 8).toBe(0);
    expect(bytes.length).toBe(8 + n + 12);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
    expect(header).toEqual({
      __metadata__: { format: 'pt' },
      a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
      'b.c': { dtype: 'F32', shape: [1, 1], data_offsets: [8, 12] },
    });
    // 1.0f = 0x3f800000, −2.0f = 0xc0000000, 0.5f = 0x3f000000, little-endian.
    expect(Array.from(bytes.subarray(8 + n))).toEqual([0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0, 0, 0, 0, 0x3f]);
    const back = decodeSafetensors(bytes);
    expect(back.metadata).toEqual({ format: 'pt' });
    expect(Array.from(back.tensors.a.data)).toEqual([1, -2]);
    expect(back.tensors['b.c'].shape).toEqual([1, 1]);
  });

  it('rejects truncated files and offsets that do not fit the shape', () => {
    const bytes = encodeSafetensors({ a: { shape: [2], data: Float32Array.from([1, 2]) } });
    expect(() => decodeSafetensors(bytes.subarray(0, bytes.length - 1))).toThrow(/offsets/);
    expect(() => decodeSafetensors(bytes.subarray(0, 4))).toThrow(/shorter/);
    expect(() => encodeSafetensors({ a: { shape: [3], data: Float32Array.from([1, 2]) } })).toThrow(/3/);
  });
});

describe('checkpoint round trip', () => {
  it.each(['bahdanau', 'bahdanau_lstm'] as const)(
    'saves and reloads a trained %s model: same weights, same translations',
    async (name) => {
      const pairs = {
        source: ['go .', 'i lost .', 'go now .', 'i won .'].map((s) => s.split(' ')),
        target: ['va !', "j'ai perdu .", 'va !', "j'ai gagné ."].map((s) => s.split(' ')),
      };
      const data = nmtData(pairs, { batchSize: 4, numSteps: 6 });
      const spec = TRANSLATION_MODELS[name];
      const config = { model: name, numSteps: 6, ...spec.hyperparameters, embedSize: 4, numHiddens: 5 };
      const model = spec.build(config, data.srcVocab, data.tgtVocab, new Random(1));
      await trainSeq2Seq(model, data, { epochs: 3 });
      const path = join(dir, name);
      await saveCheckpoint(path, model, { srcVocab: data.srcVocab, tgtVocab: data.tgtVocab, config });

      const { header } = decodeSafetensors(await readFile(join(path, 'model.safetensors')));
      expect(Object.keys(header).filter((k) => k !== '__metadata__')).toEqual(
        model.namedTensors().map(([n]) => n),
      );
      const saved = await loadCheckpoint(path);
      expect(saved.config).toEqual(config);
      expect(saved.tgtVocab.idxToToken).toEqual(data.tgtVocab.idxToToken);

      // Built from the architecture the config names and another seed, then overwritten by the checkpoint.
      const { model: loaded } = await loadModel(path, (c, src, tgt) =>
        translationModel(c.model).build(c, src, tgt, new Random(99)),
      );
      expect(loaded.namedTensors().map(([n, t]) => [n, t.shape])).toEqual(
        model.namedTensors().map(([n, t]) => [n, t.shape]),
      );
      const a = model.namedTensors();
      const b = loaded.namedTensors();
      for (let i = 0; i < a.length; i++)
        expect(Array.from(await b[i][1].data())).toEqual(Array.from(await a[i][1].data()));
      for (const s of ['go .', 'i lost .', 'i won .']) {
        const p = await predictSeq2Seq(model, s, data.srcVocab, data.tgtVocab, 6, {
          saveAttentionWeights: true,
        });
        const q = await predictSeq2Seq(loaded, s, saved.srcVocab, saved.tgtVocab, 6, {
          saveAttentionWeights: true,
        });
        expect(q).toEqual(p);
      }
      model.dispose();
      loaded.dispose();
    },
  );

  it('refuses a checkpoint whose shapes or cell do not fit the model', async () => {
    const spec = TRANSLATION_MODELS.bahdanau;
    await expect(
      loadModel(join(dir, 'bahdanau'), (c, src, tgt) =>
        spec.build({ ...c, numHiddens: 3 }, src, tgt, new Random(0)),
      ),
    ).rejects.toThrow(/decoder|encoder/);
    // An LSTM checkpoint (4H rows) does not load into the GRU model (3H rows).
    await expect(
      loadModel(join(dir, 'bahdanau_lstm'), (c, src, tgt) => spec.build(c, src, tgt, new Random(0))),
    ).rejects.toThrow(/rnn/);
  });
});
