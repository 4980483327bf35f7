/** Parameter initialisation with a seeded generator, the way `torch.manual_seed` makes PyTorch's reproducible. */
import { Random } from '../data/random.js';

let generator = new Random(0);

/** Reseeds the generator that layers use for their default initialisation (`torch.manual_seed`). */
export function manualSeed(seed: number): void {
  generator = new Random(seed);
}

/** The generator layers draw from when no `rng` option is given. */
export function defaultGenerator(): Random {
  return generator;
}

/** n values from U(−bound, bound). */
export function uniformValues(n: number, bound: number, rng: Random): Float32Array {
  return rng.uniformArray(n, -bound, bound);
}
