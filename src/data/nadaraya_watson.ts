import type { Random } from './random.js';

/**
 * The regression target of d2l §10.2 "Attention Pooling: Nadaraya-Watson Kernel Regression"
 * (older edition): f(x) = 2 sin(x) + x^0.8, with x in radians. The newer §11.2 "Attention
 * Pooling by Similarity" uses 2 sin(x) + x with 40 points; this module follows §10.2.
 * @param x - a scalar input; x^0.8 is NaN for x < 0, as in the book's torch code.
 */
export function nwTruth(x: number): number {
  return 2 * Math.sin(x) + x ** 0.8;
}

/** Number of test queries: `torch.arange(0, 5, 0.1)` has 50 points whatever `nTrain` is. */
const N_TEST = 50;

/** The toy regression data of d2l §10.2, all arrays float32 of shape (n) with no batch axis. */
export interface NwData {
  /** Training inputs, shape (nTrain), x ~ U(0, 5), sorted ascending. */
  xTrain: Float32Array;
  /** Training targets, shape (nTrain): f(xTrain) + noise with noise ~ N(0, 0.5²) (std 0.5). */
  yTrain: Float32Array;
  /** Test queries, shape (50): 0, 0.1, …, 4.9. */
  xTest: Float32Array;
  /** Noise-free targets f(xTest), shape (50). */
  yTruth: Float32Array;
}

/**
 * Generates the d2l §10.2 data: `x_train = sort(rand(n) * 5)`, `y_train = f(x_train) +
 * normal(0, 0.5)`, `x_test = arange(0, 5, 0.1)`, `y_truth = f(x_test)`. Draws all n
 * uniforms, then all n normals, from `rng`, mirroring the book's order.
 * @param rng - source of randomness; advanced by n uniforms and n normals.
 * @param nTrain - number of training points (default 50, as in the book).
 */
export function nwData(rng: Random, nTrain = 50): NwData {
  const xTrain = rng.uniformArray(nTrain, 0, 5).sort();
  const noise = rng.normalArray(nTrain, 0, 0.5);
  const yTrain = new Float32Array(nTrain);
  for (let i = 0; i < nTrain; i++) yTrain[i] = nwTruth(xTrain[i]) + noise[i];
  const xTest = new Float32Array(N_TEST);
  // i * 0.1 instead of a running sum, so no rounding error builds up along the grid.
  for (let i = 0; i < N_TEST; i++) xTest[i] = i * 0.1;
  const yTruth = xTest.map(nwTruth);
  return { xTrain, yTrain, xTest, yTruth };
}

/** Per-query keys and values for leave-one-out attention pooling over the training set. */
export interface NwKeysValues {
  /** Shape (n, n-1), row-major: row i is xTrain without its element i, in original order. */
  keys: Float32Array;
  /** Shape (n, n-1), row-major: row i is yTrain without its element i, in original order. */
  values: Float32Array;
}

/**
 * The training-time keys/values of d2l §10.2.4: each training query x_i attends to every
 * OTHER training point, so the model cannot simply copy its own target. This is the book's
 * `X_tile[(1 - torch.eye(n)).type(torch.bool)].reshape((n, -1))` (and likewise for Y).
 * @param xTrain - training inputs, shape (n), n ≥ 2.
 * @param yTrain - training targets, shape (n).
 */
export function nwKeysValues(xTrain: Float32Array, yTrain: Float32Array): NwKeysValues {
  const n = xTrain.length;
  if (yTrain.length !== n) throw new RangeError(`nwKeysValues: ${n} inputs but ${yTrain.length} targets`);
  if (n < 2) throw new RangeError(`nwKeysValues: need at least 2 points, got ${n}`);
  const keys = new Float32Array(n * (n - 1));
  const values = new Float32Array(n * (n - 1));
  let k = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      keys[k] = xTrain[j];
      values[k] = yTrain[j];
      k++;
    }
  }
  return { keys, values };
}
