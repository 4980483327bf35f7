/** Xavier (Glorot) initialisation, which d2l's seq2seq models apply to their Linear and GRU weights. */
import { type Random, defaultGenerator } from '../runtime/random.js';
import { uniformValues } from './init.js';

/**
 * `torch.nn.init.xavier_uniform_` for a 2-D weight (fanOut, fanIn) as PyTorch stores Linear and RNN matrices:
 * values from U(−a, a) with a = gain·√(6 / (fanIn + fanOut)) (Glorot & Bengio, 2010; d2l `init_seq2seq`).
 * @param fanIn columns of the weight (its input size).
 * @param fanOut rows of the weight (its output size, e.g. 3H for a GRU's stacked gates).
 * @returns fanOut·fanIn float32 values, row-major (fanOut, fanIn).
 */
export function xavierUniform(
  fanIn: number,
  fanOut: number,
  rng: Random = defaultGenerator(),
  gain = 1,
): Float32Array {
  return uniformValues(fanIn * fanOut, gain * Math.sqrt(6 / (fanIn + fanOut)), rng);
}
