import type { Random } from './random.js';

/**
 * One epoch of minibatch indices over a data set of `n` examples, reshuffled every epoch,
 * as d2l's `data_iter` / `DataLoader(shuffle=True)` (d2l §3.3.2 "Reading the Dataset",
 * older edition §3.2.2). Every index in [0, n) appears exactly once; the last batch holds
 * the remainder (`drop_last=False`), so it is shorter when `batchSize` does not divide `n`.
 *
 * The shuffle is drawn when `batches` is called, not when the first batch is pulled, so the
 * position in `rng`'s stream does not depend on when the caller starts iterating.
 * @param n - number of examples, a non-negative integer.
 * @param batchSize - examples per batch, a positive integer.
 * @param rng - source of the shuffle; advanced by one permutation of n per call.
 * @returns a generator of index arrays into [0, n), each of length `batchSize` except possibly the last.
 */
export function batches(n: number, batchSize: number, rng: Random): Generator<number[], void, undefined> {
  if (!Number.isSafeInteger(batchSize) || batchSize <= 0) {
    throw new RangeError(`batches: batchSize must be a positive integer, got ${batchSize}`);
  }
  const order = rng.permutation(n);
  return (function* () {
    for (let i = 0; i < n; i += batchSize) yield order.slice(i, i + batchSize);
  })();
}
