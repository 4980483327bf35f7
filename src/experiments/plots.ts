/** The pictures of the main job: the fitted NW curves, its attention heatmap, the loss curves. */
import { join } from 'node:path';
import { heatmap, lineChart } from '../plot/index.js';
import type { ClsMlpResult } from './cls_mlp.js';
import type { NwResult } from './nadaraya_watson.js';

const epochs = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

/** Writes nw_fit.png, nw_attention.png and nw_loss.png into `dir`; returns the paths. */
export async function plotNadarayaWatson(r: NwResult, dir: string): Promise<string[]> {
  return Promise.all([
    lineChart(join(dir, 'nw_fit.png'), {
      title: `Nadaraya-Watson regression (learned w = ${r.w.toFixed(3)})`,
      xLabel: 'x',
      yLabel: 'y',
      series: [
        { name: 'truth 2 sin(x) + x^0.8', x: r.xTest, y: r.yTruth },
        { name: 'learned width', x: r.xTest, y: r.yHat },
        { name: 'non-parametric (w = 1)', x: r.xTest, y: r.yHatNonParametric },
        { name: 'training data', x: r.xTrain, y: r.yTrain, mark: 'point' },
      ],
    }),
    heatmap(join(dir, 'nw_attention.png'), {
      title: 'Attention weights of the trained model',
      xLabel: 'sorted training inputs',
      yLabel: 'test inputs',
      values: r.attention,
    }),
    lineChart(join(dir, 'nw_loss.png'), {
      title: 'Nadaraya-Watson training loss (sum of squared errors)',
      xLabel: 'epoch',
      yLabel: 'loss',
      series: [{ name: 'loss', x: epochs(r.losses.length), y: r.losses }],
    }),
  ]);
}

/** Writes cls_mlp_loss.png (loss and training accuracy per epoch) into `dir`; returns the path. */
export async function plotClsMlp(r: ClsMlpResult, dir: string): Promise<string[]> {
  return [
    await lineChart(join(dir, 'cls_mlp_loss.png'), {
      title: 'Masked-token MLP: cross-entropy and training accuracy',
      xLabel: 'epoch',
      yLabel: 'value',
      series: [
        { name: 'training loss', x: epochs(r.losses.length), y: r.losses },
        { name: 'training accuracy', x: epochs(r.accuracies.length), y: r.accuracies },
      ],
    }),
  ];
}
