/**
 * The masked-token MLP of the project's seed notes: Linear(10, 100) → ReLU → BatchNorm1d(100) → Linear(100, 26),
 * reading the ten token ids of a window as plain numbers and predicting the masked letter.
 */
import { type Random, defaultGenerator } from '../runtime/random.js';
import { BatchNorm1d } from '../nn/batch_norm.js';
import { ReLU } from '../nn/activation.js';
import { Linear } from '../nn/linear.js';
import { Sequential } from '../nn/sequential.js';

/** (N, 10) float32 token ids → (N, 26) logits. */
export function clsMlp(
  rng: Random = defaultGenerator(),
  window = 10,
  hidden = 100,
  classes = 26,
): Sequential {
  return new Sequential(
    new Linear(window, hidden, { rng }),
    new ReLU(),
    new BatchNorm1d(hidden),
    new Linear(hidden, classes, { rng }),
  );
}
