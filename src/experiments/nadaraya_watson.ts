/**
 * Trains Nadaraya-Watson regression with a learnable width as d2l §10.2.4 does: 50 sorted training points,
 * each training query attends to the 49 others, loss = Σ (ŷ − y)² (MSELoss(reduction='none').sum()), SGD lr 0.5,
 * 5 full-batch epochs. Runs on the current engine (WebGPU or CPU reference).
 */
import { nwData, nwKeysValues } from '../data/nadaraya_watson.js';
import { Random } from '../runtime/random.js';
import { NWKernelRegression, nwNonParametric } from '../models/nadaraya_watson.js';
import { square, sub } from '../ops/elementwise.js';
import { sum } from '../ops/reduce.js';
import { SGD } from '../optim/sgd.js';
import { backward } from '../ops/autograd.js';
import { engine } from '../runtime/global.js';
import { checkFinite } from '../train/diverged.js';
import { TrainingRun, type RunOptions } from '../train/training_run.js';

export interface NwOptions extends RunOptions {
  seed?: number;
  epochs?: number;
  lr?: number;
  onEpoch?: (epoch: number, loss: number) => void;
  /** Training data to use instead of drawing it from the seed (e.g. PyTorch's draw, for parity tests). */
  data?: { xTrain: Float32Array; yTrain: Float32Array };
  /** Initial width instead of drawing it from the seed. */
  initialW?: number;
}

export interface NwResult {
  /** Σ (ŷ − y)² before each epoch's update, as d2l prints it. */
  losses: number[];
  finalLoss: number;
  w: number;
  seconds: number;
  xTrain: number[];
  yTrain: number[];
  xTest: number[];
  yTruth: number[];
  /** Predictions at xTest: learned width and non-parametric (w = 1). */
  yHat: number[];
  yHatNonParametric: number[];
  /** Attention weights (xTest × xTrain) of the trained model, rows of 50. */
  attention: number[][];
}

function rows(flat: ArrayLike<number>, width: number): number[][] {
  return Array.from({ length: flat.length / width }, (_, i) =>
    Array.from(flat).slice(i * width, (i + 1) * width),
  );
}

/**
 * Trains the model (see the file's comment); one full-batch step per epoch. With `checkpoint` and `resume`, a run
 * continues from its last checkpoint (weights, step, losses) as the other trainers do.
 * @throws DivergenceError for a non-finite loss; DeviceLostError when the device is lost or destroyed meanwhile;
 *   the signal's reason when `signal` aborts; CheckpointError for a `resume` checkpoint that does not fit.
 */
export async function trainNadarayaWatson(options: NwOptions = {}): Promise<NwResult> {
  const { seed = 0, epochs = 5, lr = 0.5, onEpoch, data: given, initialW } = options;
  const e = engine();
  const start = performance.now();
  const rng = new Random(seed);
  const data = { ...nwData(rng), ...given };
  const n = data.xTrain.length;
  const { keys, values } = nwKeysValues(data.xTrain, data.yTrain);
  const net = new NWKernelRegression(rng);
  if (initialW !== undefined) net.loadStateDict({ w: [initialW] });
  const opt = new SGD(net.parameters(), { lr });
  const [x, y, k, v] = [
    e.fromArray(data.xTrain, [n]),
    e.fromArray(data.yTrain, [n]),
    e.fromArray(keys, [n, n - 1]),
    e.fromArray(values, [n, n - 1]),
  ];
  try {
    const run = await TrainingRun.open<{ losses: number[] }>('trainNadarayaWatson', net, opt, {}, options);
    const { losses } = run.resumed ?? { losses: [] };
    for (let epoch = run.epoch; epoch <= epochs; epoch++) {
      run.beginEpoch(epoch);
      if (run.skip() > 0) {
        // The checkpoint was saved after this epoch's only step: its loss is already in `losses`.
        run.endEpoch();
        continue;
      }
      run.checkSignal();
      const loss = e.tidy(() => {
        opt.zeroGrad();
        const l = sum(square(sub(net.forward(x, k, v), y)));
        backward(l);
        opt.step();
        return l;
      });
      const value = await loss.item();
      loss.dispose();
      checkFinite('nadaraya_watson', epoch, value);
      losses.push(value);
      await run.afterStep(async () => ({ losses }));
      onEpoch?.(epoch, value);
      run.endEpoch();
    }
    await run.save(async () => ({ losses }));
    const seconds = (performance.now() - start) / 1000;
    // Test queries attend to every training point.
    const m = data.xTest.length;
    const tiled = (src: Float32Array) => Float32Array.from({ length: m * n }, (_, i) => src[i % n]);
    const evalResult = await e.tidyAsync(async () => {
      const xt = e.fromArray(data.xTest, [m]);
      const kt = e.fromArray(tiled(data.xTrain), [m, n]);
      const vt = e.fromArray(tiled(data.yTrain), [m, n]);
      const [yHat, np] = e.noGrad(() => [net.forward(xt, kt, vt), nwNonParametric(xt, kt, vt)] as const);
      return {
        yHat: Array.from(await yHat.data()),
        attention: rows(await net.attentionWeights!.data(), n),
        yHatNonParametric: Array.from(await np.yHat.data()),
      };
    });
    return {
      losses,
      finalLoss: losses.at(-1)!,
      w: (await net.w.data())[0],
      seconds,
      xTrain: Array.from(data.xTrain),
      yTrain: Array.from(data.yTrain),
      xTest: Array.from(data.xTest),
      yTruth: Array.from(data.yTruth),
      ...evalResult,
    };
  } finally {
    for (const t of [x, y, k, v]) t.dispose();
    opt.dispose();
    net.dispose();
  }
}
