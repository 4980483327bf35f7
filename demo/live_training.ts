/**
 * Live training for the demo page: the project's models on the current engine, one optimiser step at a time, so
 * a run can stop between any two steps. The loops follow the library's (src/experiments/nadaraya_watson.ts,
 * src/experiments/cls_mlp.ts, src/train/trainer.ts) step for step; they are written out here only because those
 * run to completion and keep their model to themselves, while the page needs the model after every epoch for its
 * heatmap. Each model is a {@link LiveSession}, which the library's loop (src/worker/session.ts) drives: the
 * page's training worker (./training_worker.ts) runs `createSession`'s, `trainLive` runs one in this thread, and
 * `evaluateLive` draws a weights file without training. Everything a session allocates is freed when it ends or
 * is stopped.
 */
import {
  Adam,
  add,
  backward,
  ClsAttention,
  clsMlp,
  ClsTransformer,
  compare,
  crossEntropy,
  decodeSafetensors,
  encodeSafetensors,
  type Engine,
  engine,
  type Linear,
  maskedTokenData,
  max,
  mean,
  type Module,
  mul,
  nwData,
  NWKernelRegression,
  nwKeysValues,
  Random,
  runTraining,
  SGD,
  square,
  sub,
  sum,
  type Tensor,
} from '../src/browser.js';
import { batches, CLS_ID, NUM_CLASSES, SEED_STRING } from '../src/internal.js';
import type { HeatmapData } from './charts.js';
import {
  loadWeights,
  readWeights,
  type LiveHooks,
  type LiveOptions,
  type LiveSession,
  type Weights,
} from './live_common.js';
import { translationSession } from './live_translation.js';

export type ModelName =
  'nadaraya_watson' | 'cls_mlp' | 'cls_attention' | 'cls_transformer' | 'bahdanau' | 'transformer';

type ClsName = 'cls_mlp' | 'cls_attention' | 'cls_transformer';

export interface ModelInfo {
  label: string;
  /** The demo's default: fewer epochs than d2l where SwiftShader (a CPU) would take minutes. */
  epochs: number;
  /** What d2l (or the project's seed notes) trains for. */
  d2lEpochs: number;
  /** Trains on the fra-eng corpus (sample or dropped file). */
  corpus: boolean;
  lossLabel: string;
}

export const MODELS: Record<ModelName, ModelInfo> = {
  nadaraya_watson: {
    label: 'Nadaraya-Watson, learnable width (d2l §10.2)',
    epochs: 5,
    d2lEpochs: 5,
    corpus: false,
    lossLabel: 'Σ (ŷ − y)²',
  },
  cls_mlp: {
    label: 'masked-token MLP',
    epochs: 30,
    d2lEpochs: 200,
    corpus: false,
    lossLabel: 'mean cross-entropy',
  },
  cls_attention: {
    label: 'masked-token self-attention, one layer (ablation)',
    epochs: 30,
    d2lEpochs: 200,
    corpus: false,
    lossLabel: 'mean cross-entropy',
  },
  cls_transformer: {
    label: 'masked-token Transformer encoder, read at the placeholder',
    // Seed 0 gets every sample right by epoch 39; an epoch takes about 9 s on SwiftShader.
    epochs: 40,
    d2lEpochs: 200,
    corpus: false,
    lossLabel: 'mean cross-entropy',
  },
  bahdanau: {
    label: 'Bahdanau seq2seq, fra-eng (d2l §10.4)',
    epochs: 10,
    d2lEpochs: 250,
    corpus: true,
    lossLabel: 'loss per target token',
  },
  transformer: {
    label: 'Transformer, fra-eng (d2l §10.7)',
    epochs: 10,
    d2lEpochs: 200,
    corpus: true,
    lossLabel: 'loss per target token',
  },
};

/** How a run ended, and the model's weights at that point (for the page's download link). */
export interface LiveResult {
  /** Ran every epoch (false: Stop ended it). */
  finished: boolean;
  weights: Weights;
}

/** `name`'s session, seeded by `options` (the translation models: built on its corpus). */
export function createSession(name: ModelName, options: Omit<LiveOptions, 'weights'>): LiveSession {
  if (name === 'nadaraya_watson') return nwSession(options);
  if (name === 'cls_mlp' || name === 'cls_attention' || name === 'cls_transformer')
    return clsSession(name, options);
  return translationSession(name, options);
}

/**
 * Trains `name` in this thread (the page trains in its worker) until `epochs` or `hooks.stopped()`, from
 * `options.weights` when given; after every epoch the hooks get the loss and the heatmap. Everything the run
 * allocated is freed when it returns or throws.
 */
export async function trainLive(
  name: ModelName,
  { weights, ...options }: LiveOptions,
  hooks: LiveHooks,
): Promise<LiveResult> {
  const abort = new AbortController();
  const poll = () => {
    if (hooks.stopped()) abort.abort();
  };
  poll();
  const result = await runTraining(
    createSession(name, options),
    { epochs: options.epochs, weights: weights && encodeSafetensors(weights) },
    {
      signal: abort.signal,
      onStep: poll,
      onEpoch: async ({ epoch, loss, note, heatmap }) => {
        await hooks.onEpoch(epoch, loss, note!);
        await hooks.onHeatmap(heatmap!);
        poll();
      },
    },
  );
  return { finished: result.finished, weights: decodeSafetensors(result.weights).tensors };
}

/**
 * Builds `name` (for the translation models: on the corpus and pairs of `options`, which fix the vocabularies),
 * loads `weights` into it and draws its heatmap, without training.
 * @returns the heatmap and the weights read back from the model that loaded them.
 * @throws Error naming the tensor when `weights` do not fit the model.
 */
export async function evaluateLive(
  name: ModelName,
  options: LiveOptions,
  weights: Weights,
): Promise<{ heatmap: HeatmapData; weights: Weights }> {
  const session = createSession(name, options);
  try {
    loadWeights(session.net, weights);
    return {
      heatmap: await session.heatmap('of the loaded weights'),
      weights: await readWeights(session.net),
    };
  } finally {
    session.dispose();
  }
}

const rows = (flat: ArrayLike<number>, width: number): number[][] =>
  Array.from({ length: flat.length / width }, (_, i) => Array.from(flat).slice(i * width, (i + 1) * width));

/** d2l §10.2.4: SGD lr 0.5 on Σ (ŷ − y)², full batch; the heatmap is the test queries' attention. */
function nwSession({ seed }: LiveOptions): LiveSession {
  const e = engine();
  const rng = new Random(seed);
  const data = nwData(rng);
  const n = data.xTrain.length;
  const m = data.xTest.length;
  const { keys, values } = nwKeysValues(data.xTrain, data.yTrain);
  const tiled = (src: Float32Array) => Float32Array.from({ length: m * n }, (_, i) => src[i % n]);
  const net = new NWKernelRegression(rng);
  const opt = new SGD(net.parameters(), { lr: 0.5 });
  const inputs = [
    e.fromArray(data.xTrain, [n]),
    e.fromArray(data.yTrain, [n]),
    e.fromArray(keys, [n, n - 1]),
    e.fromArray(values, [n, n - 1]),
    e.fromArray(data.xTest, [m]),
    e.fromArray(tiled(data.xTrain), [m, n]),
    e.fromArray(tiled(data.yTrain), [m, n]),
  ];
  const [x, y, k, v, xt, kt, vt] = inputs;
  const fmt = (a: Float32Array) => Array.from(a, (t) => t.toFixed(1));
  return {
    net,
    *epoch() {
      const loss = e.tidy(() => {
        opt.zeroGrad();
        const l = sum(square(sub(net.forward(x, k, v), y)));
        backward(l);
        opt.step();
        return l;
      });
      yield { loss };
    },
    note: async () => `w = ${(await net.w.data())[0].toFixed(3)}`,
    async heatmap(when) {
      const attention = await e.tidyAsync(async () => {
        e.noGrad(() => net.forward(xt, kt, vt));
        return rows(await net.attentionWeights!.data(), n);
      });
      return {
        title: `attention of test queries ${when}`,
        values: attention,
        xLabels: fmt(data.xTrain),
        yLabels: fmt(data.xTest),
        xTitle: 'sorted training inputs (keys)',
        yTitle: 'sorted testing inputs (queries)',
      };
    },
    dispose() {
      for (const t of inputs) t.dispose();
      opt.dispose();
      net.dispose();
    },
  };
}

const tokenLabel = (id: number) => (id === CLS_ID ? '[cls]' : (SEED_STRING[id] ?? '?'));

/** The seed notes' masked-token task: Adam lr 1e-3, weight decay 1e-4, shuffled batches of 10. */
function clsSession(name: ClsName, { seed }: LiveOptions): LiveSession {
  const e = engine();
  const rng = new Random(seed);
  const data = maskedTokenData();
  const n = data.labels.length;
  const width = data.inputs.length / n;
  const mlp = name === 'cls_mlp' ? clsMlp(rng) : null;
  const attn =
    name === 'cls_attention'
      ? new ClsAttention({ rng })
      : name === 'cls_transformer'
        ? new ClsTransformer({ rng })
        : null;
  const net: Module = mlp ?? attn!;
  const opt = new Adam(net.parameters(), { lr: 1e-3, weightDecay: 1e-4 });
  const shuffle = rng.fork();
  // The heatmap's sample: the masked position in the middle of the first window.
  const probe = 4;
  const probeIds = Array.from(data.inputs.subarray(probe * width, (probe + 1) * width));
  // The epoch's right answers so far, summed on the device.
  const held: { correct: Tensor | null } = { correct: null };
  const clear = () => {
    held.correct?.dispose();
    held.correct = null;
  };
  return {
    net,
    *epoch() {
      for (const idx of batches(n, 10, shuffle)) {
        const ids = idx.flatMap((i) => Array.from(data.inputs.subarray(i * width, (i + 1) * width)));
        const batch = [
          e.fromArray(ids, [idx.length, width]),
          e.fromArray(ids, [idx.length, width], 'int32'),
          e.fromArray(
            ids.map((t) => (t === CLS_ID ? 1 : 0)),
            [idx.length, width],
          ),
          e.fromArray(
            idx.map((i) => data.labels[i]),
            [idx.length],
            'int32',
          ),
          e.fromArray(
            idx.flatMap((i) => Array.from({ length: NUM_CLASSES }, (_, c) => (c === data.labels[i] ? 1 : 0))),
            [idx.length, NUM_CLASSES],
          ),
        ];
        const [xb, tokens, clsMask, yb, onehot] = batch;
        try {
          const [loss, correct] = e.tidy(() => {
            opt.zeroGrad();
            const logits = mlp ? mlp.forward(xb) : attn!.forward(tokens, clsMask);
            const l = crossEntropy(logits, yb);
            backward(l);
            opt.step();
            return e.noGrad(() => {
              const right = sum(compare('ge', sum(mul(logits, onehot), 1), max(logits, 1)));
              return [l, held.correct ? add(held.correct, right) : right];
            });
          });
          clear();
          held.correct = correct;
          yield { loss };
        } finally {
          for (const t of batch) t.dispose();
        }
      }
    },
    async note() {
      const accuracy = (await held.correct!.item()) / n;
      clear();
      return `train accuracy ${accuracy.toFixed(3)}`;
    },
    async heatmap(when) {
      if (attn instanceof ClsTransformer) return clsRowMap(attn, probeIds, when);
      if (attn) return clsAttentionMap(e, attn, probeIds, when);
      return firstLayerMap(mlp!.layers[0] as Linear, when);
    },
    dispose() {
      clear();
      opt.dispose();
      net.dispose();
    },
  };
}

/** Self-attention of the probe window, mean over heads: (L, L) queries × keys. */
async function clsAttentionMap(
  e: Engine,
  net: ClsAttention,
  ids: number[],
  when: string,
): Promise<HeatmapData> {
  const l = ids.length;
  net.attention.captureWeights = true;
  net.eval();
  try {
    const values = await e.tidyAsync(async () => {
      const tokens = e.fromArray(ids, [1, l], 'int32');
      const cls = e.fromArray(
        ids.map((t) => (t === CLS_ID ? 1 : 0)),
        [1, l],
      );
      e.noGrad(() => net.forward(tokens, cls));
      // (H, L, L) for the one window: average the heads.
      return rows(await e.noGrad(() => mean(net.attention.attentionWeights!, 0)).data(), l);
    });
    const labels = ids.map(tokenLabel);
    return {
      title: `self-attention (mean over heads) ${when}`,
      values,
      xLabels: labels,
      yLabels: labels,
      xTitle: 'key position (token)',
      yTitle: 'query position (token)',
    };
  } finally {
    net.attention.captureWeights = false;
    net.train();
  }
}

/** Where the placeholder looks: the cls row of every block and head over the probe window's letters. */
async function clsRowMap(net: ClsTransformer, ids: number[], when: string): Promise<HeatmapData> {
  const weights = await net.clsAttention(ids);
  return {
    title: `attention of the placeholder (cls row) per block and head ${when}`,
    values: weights.flat(),
    xLabels: ids.map(tokenLabel),
    yLabels: weights.flatMap((heads, b) => heads.map((_, h) => `block ${b} head ${h}`)),
    xTitle: 'key position (token)',
    yTitle: 'block, head',
    colorTitle: 'weight',
  };
}

/** The MLP has no attention: its first layer's |weights|, input position × hidden unit, show what it learns. */
async function firstLayerMap(layer: Linear, when: string): Promise<HeatmapData> {
  const w = await layer.weight.data(); // (hidden, 10)
  const [hidden, inputs] = layer.weight.shape;
  const values = Array.from({ length: inputs }, (_, i) =>
    Array.from({ length: hidden }, (_, h) => Math.abs(w[h * inputs + i])),
  );
  return {
    title: `no attention in the MLP: |first-layer weights| ${when}`,
    values,
    xLabels: Array.from({ length: hidden }, (_, h) => String(h)),
    yLabels: Array.from({ length: inputs }, (_, i) => `pos ${i}`),
    xTitle: 'hidden unit',
    yTitle: 'input position',
    colorTitle: '|weight|',
  };
}
