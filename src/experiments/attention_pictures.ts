/**
 * The pictures of the attention issue: the weights of each scoring function on one fixed example (d2l §11.3),
 * multi-head attention weights per head (§11.5), the positional-encoding columns 6–9 over 60 positions and the
 * whole P matrix (§11.6). The masked-token pictures are in cls_pictures.ts.
 */
import { join } from 'node:path';
import { Random } from '../runtime/random.js';
import { AdditiveAttention, BilinearAttention, DotProductAttention } from '../nn/attention_scoring.js';
import { MultiHeadAttention } from '../nn/multi_head_attention.js';
import { positionalEncodingMatrix } from '../nn/positional_encoding.js';
import { hardAttention } from '../ops/hard_attention.js';
import { heatmap, heatmapGrid, lineChart } from '../plot/index.js';
import { engine } from '../runtime/global.js';
import type { Tensor } from '../runtime/tensor.js';

async function rows(t: Tensor, width: number): Promise<number[][]> {
  const flat = Array.from(await t.data());
  return Array.from({ length: flat.length / width }, (_, i) => flat.slice(i * width, (i + 1) * width));
}

/**
 * One example for every scoring function: 6 queries, 10 keys, the last 3 keys masked (valid length 7).
 * Writes scoring_heatmaps.png; returns its path.
 */
export async function plotScoringFunctions(dir: string, seed = 0): Promise<string> {
  const e = engine();
  const rng = new Random(seed);
  const [L, S, D] = [6, 10, 8];
  const validLens = [7];
  return e.tidyAsync(async () => {
    const q = e.fromArray(rng.normalArray(L * D), [1, L, D]);
    const k = e.fromArray(rng.normalArray(S * D), [1, S, D]);
    const v = e.fromArray(rng.normalArray(S * D), [1, S, D]);
    const modules = {
      'additive (Bahdanau)': new AdditiveAttention({
        keySize: D,
        querySize: D,
        numHiddens: 16,
        dropout: 0,
        rng,
      }),
      'scaled dot product': new DotProductAttention({ dropout: 0 }),
      'dot product (unscaled)': new DotProductAttention({ dropout: 0, scaled: false }),
      'bilinear q W kᵀ': new BilinearAttention({ querySize: D, keySize: D, dropout: 0, rng }),
    };
    const panels = [];
    for (const [title, m] of Object.entries(modules)) {
      m.eval();
      e.noGrad(() => m.forward(q, k, v, validLens));
      panels.push({ title, values: await rows(m.attentionWeights!, S) });
    }
    // Hard attention selects one key per query: its weights are one-hot rows.
    const scaled = modules['scaled dot product'].attentionWeights!;
    const hard = hardAttention(scaled, v, { mode: 'argmax', validLens });
    const picked = Array.from(await hard.indices.data());
    panels.push({
      title: 'hard (argmax)',
      values: picked.map((j) => Array.from({ length: S }, (_, c) => (c === j ? 1 : 0))),
    });
    for (const m of Object.values(modules)) m.dispose();
    return heatmapGrid(join(dir, 'scoring_heatmaps.png'), {
      title: 'Attention weights of each scoring function (valid length 7 of 10 keys)',
      panels,
      xLabel: 'keys',
      yLabel: 'queries',
      columns: 3,
    });
  });
}

/** Self-attention weights per head of a 4-head MultiHeadAttention on one sequence; writes mha_heads.png. */
export async function plotMultiHeadWeights(dir: string, seed = 0): Promise<string> {
  const e = engine();
  const rng = new Random(seed);
  const [L, E, H] = [12, 32, 4];
  return e.tidyAsync(async () => {
    const mha = new MultiHeadAttention({
      keySize: E,
      querySize: E,
      valueSize: E,
      numHiddens: E,
      numHeads: H,
      dropout: 0,
      captureWeights: true,
      rng,
    }).eval();
    const x = e.fromArray(rng.normalArray(L * E), [1, L, E]);
    e.noGrad(() => mha.forward(x, x, x, [9]));
    const all = await rows(mha.attentionWeights!, L);
    mha.dispose();
    return heatmapGrid(join(dir, 'mha_heads.png'), {
      title: 'Multi-head self-attention weights per head (valid length 9 of 12)',
      panels: Array.from({ length: H }, (_, h) => ({
        title: `head ${h}`,
        values: all.slice(h * L, (h + 1) * L),
      })),
      xLabel: 'keys',
      yLabel: 'queries',
    });
  });
}

/** d2l §11.6's two pictures: columns 6–9 of P over 60 positions, and P (60 × 32) as a heatmap. */
export async function plotPositionalEncoding(dir: string): Promise<string[]> {
  const [n, d] = [60, 32];
  const P = positionalEncodingMatrix(n, d);
  const positions = Array.from({ length: n }, (_, i) => i);
  const columns = [6, 7, 8, 9].map((c) => ({
    name: `Col ${c}`,
    x: positions,
    y: positions.map((p) => P[p * d + c]),
  }));
  const matrix = Array.from({ length: n }, (_, p) => Array.from(P.subarray(p * d, (p + 1) * d)));
  return Promise.all([
    lineChart(join(dir, 'positional_encoding_columns.png'), {
      title: 'Positional encoding: columns 6–9',
      xLabel: 'Row (position)',
      yLabel: 'value',
      series: columns,
    }),
    heatmap(join(dir, 'positional_encoding_heatmap.png'), {
      title: 'Positional encoding P (60 positions × 32 dims)',
      values: matrix,
      xLabel: 'Column (encoding dimension)',
      yLabel: 'Row (position)',
      colorScheme: 'blues',
    }),
  ]);
}
