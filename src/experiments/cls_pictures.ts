/**
 * The pictures of the masked-token task solved by attention: training vs held-out accuracy of the seed's MLP and
 * `ClsTransformer`, and where the trained Transformer's placeholder looks.
 */
import { join } from 'node:path';
import { CLS_ID, maskedTokenData, SEED_STRING } from '../data/masked_tokens.js';
import type { ClsTransformer } from '../models/cls_transformer.js';
import { heatmapGrid, lineChart } from '../plot/index.js';
import type { ClsMlpResult } from './cls_mlp.js';

/** Mean over runs, epoch by epoch, over the epochs every run reached. */
function meanCurve(curves: number[][]): number[] {
  const n = Math.min(...curves.map((c) => c.length));
  return Array.from({ length: n }, (_, i) => curves.reduce((s, c) => s + c[i], 0) / curves.length);
}

const meanFinal = (runs: ClsMlpResult[], f: (r: ClsMlpResult) => number) =>
  (runs.reduce((s, r) => s + f(r), 0) / runs.length).toFixed(2);

/**
 * Training and held-out accuracy per epoch of both models trained on the same 80% of the distinct inputs, mean
 * over seeds (summary.json has each seed's). Writes cls_comparison.png; returns its path.
 */
export async function plotClsComparison(
  dir: string,
  runs: { mlp: ClsMlpResult[]; transformer: ClsMlpResult[] },
): Promise<string> {
  const series = [];
  for (const [name, rs] of [
    ['MLP', runs.mlp],
    ['ClsTransformer', runs.transformer],
  ] as const) {
    const train = meanCurve(rs.map((r) => r.accuracies));
    const held = meanCurve(rs.map((r) => r.heldOutAccuracies));
    const epochs = train.map((_, i) => i + 1);
    series.push(
      { name: `${name} training (final ${meanFinal(rs, (r) => r.accuracy)})`, x: epochs, y: train },
      { name: `${name} held-out (final ${meanFinal(rs, (r) => r.heldOutAccuracy)})`, x: epochs, y: held },
    );
  }
  const rs = runs.transformer;
  const sizes = rs.map((r) => r.trainSize);
  const train =
    Math.min(...sizes) === Math.max(...sizes) ? `${sizes[0]}` : `${Math.min(...sizes)}–${Math.max(...sizes)}`;
  return lineChart(join(dir, 'cls_comparison.png'), {
    title: [
      'Masked-token task: trained on 80% of the distinct inputs, scored on the other 20%',
      `(${train} training samples, ${rs[0].heldOutSize} held-out inputs; mean of ${rs.length} seeds)`,
    ],
    xLabel: 'epoch',
    yLabel: 'accuracy',
    series,
    width: 560,
  });
}

/** A sample's window as letters, the masked one shown as `cls` (short enough to keep the labels upright). */
export function windowLabels(ids: readonly number[]): string[] {
  return ids.map((t) => (t === CLS_ID ? 'cls' : SEED_STRING[t]));
}

/**
 * The cls row of every block's and head's self-attention for a few windows of the trained model: one panel per
 * window, one row per (block, head), one column per letter. Writes cls_attention.png; returns its path.
 * @param samples indices into maskedTokenData()'s rows.
 */
export async function plotClsAttention(dir: string, net: ClsTransformer, samples: number[]): Promise<string> {
  const data = maskedTokenData();
  const width = data.inputs.length / data.labels.length;
  const panels = [];
  for (const i of samples) {
    const ids = Array.from(data.inputs.subarray(i * width, (i + 1) * width));
    const weights = await net.clsAttention(ids);
    const letters = windowLabels(ids);
    const window = letters.map((t) => (t === 'cls' ? '_' : t)).join('');
    panels.push({
      title: `${window}, masked ${SEED_STRING[data.labels[i]]}`,
      values: weights.flat(),
      xTicks: letters,
      yTicks: weights.flatMap((heads, b) => heads.map((_, h) => `b${b} h${h}`)),
    });
  }
  return heatmapGrid(join(dir, 'cls_attention.png'), {
    title: 'ClsTransformer: attention of the placeholder (cls row) per block and head',
    panels,
    xLabel: 'key: letter of the window (0 = unwritten or A)',
    yLabel: 'block, head',
    columns: Math.min(3, panels.length),
    colorLabel: 'weight',
    panelWidth: 280,
    panelHeight: 200,
  });
}
