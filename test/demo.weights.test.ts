/**
 * The demo's weights download and load, in Node (Dawn): a run's weights encode to safetensors bytes that decode
 * to the same tensors; loading them into a fresh model gives the same outputs (its heatmap) and the same weights
 * read back; a run started from them continues the trained one (NW's full-batch loss after 3 + 1 epochs equals a
 * 4-epoch run's); weights trained on one corpus do not load into a model built on another; and every tensor is
 * freed afterwards.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { HeatmapData } from '../demo/charts.js';
import type { LiveHooks, LiveOptions } from '../demo/live_common.js';
import { evaluateLive, trainLive, type ModelName } from '../demo/live_training.js';
import { WEIGHTS_FORMAT, decodeWeights, encodeWeights } from '../demo/weights.js';
import { CheckpointError } from '../src/runtime/errors.js';
import { useEngine } from './engine_fixture.js';

const engine = useEngine();

const pairs = readFileSync('test/fixtures/pairs.txt', 'utf8');
const options = (epochs: number, corpus = pairs): LiveOptions => ({
  epochs,
  seed: 0,
  corpus,
  corpusName: 'pairs.txt',
  numExamples: 200,
});

/** Trains `model`, keeping every epoch's loss and the last heatmap. */
async function train(model: ModelName, opts: LiveOptions) {
  const losses: number[] = [];
  let heatmap: HeatmapData | null = null;
  const hooks: LiveHooks = {
    stopped: () => false,
    onEpoch: (_epoch, loss) => void losses.push(loss),
    onHeatmap: (map) => void (heatmap = map),
  };
  const result = await trainLive(model, opts, hooks);
  return { ...result, losses, heatmap: heatmap! };
}

describe('weights download and load', () => {
  it.each(['nadaraya_watson', 'cls_mlp', 'cls_transformer', 'bahdanau'] as const)(
    '%s: the bytes load back into a model with the same weights and outputs',
    { timeout: 120_000 },
    async (model) => {
      const trained = await train(model, options(2));
      expect(trained.finished).toBe(true);
      const bytes = encodeWeights(trained.weights, { model, origin: 'trained 2' });
      const { weights, meta } = decodeWeights(bytes, `${model}.safetensors`);
      expect(meta).toEqual({ format: WEIGHTS_FORMAT, model, origin: 'trained 2' });
      expect(Object.keys(weights)).toEqual(Object.keys(trained.weights));
      for (const [name, t] of Object.entries(trained.weights)) expect(weights[name]).toEqual(t);

      const loaded = await evaluateLive(model, options(1), weights);
      expect(loaded.weights).toEqual(trained.weights);
      expect(loaded.heatmap.values).toEqual(trained.heatmap.values);
      expect(loaded.heatmap.title).toMatch(/of the loaded weights/);
      expect(engine().memoryStats().tensors).toBe(0);
    },
  );

  it('a run from loaded weights continues the trained one', { timeout: 60_000 }, async () => {
    const four = await train('nadaraya_watson', options(4));
    const three = await train('nadaraya_watson', options(3));
    const { weights } = decodeWeights(encodeWeights(three.weights, { model: 'nadaraya_watson' }), 'nw');
    const resumed = await train('nadaraya_watson', { ...options(1), weights });
    expect(resumed.losses).toEqual([four.losses[3]]);
    expect(resumed.weights).toEqual(four.weights);
  });

  it('refuses weights that do not fit, and files that are not safetensors', { timeout: 60_000 }, async () => {
    const trained = await train('bahdanau', options(1));
    // Another corpus gives other vocabularies, so other embedding sizes.
    const other = options(1, 'Hello.\tBonjour.\nThanks.\tMerci.\n');
    await expect(evaluateLive('bahdanau', other, trained.weights)).rejects.toThrow(
      /loadStateDict: ".*" has \d+ values/,
    );
    await expect(evaluateLive('cls_mlp', options(1), trained.weights)).rejects.toThrow(
      /loadStateDict: missing/,
    );
    expect(() => decodeWeights(new Uint8Array([1, 2, 3]), 'notes.txt')).toThrow(CheckpointError);
    expect(engine().memoryStats().tensors).toBe(0);
  });
});
