/** Parameter initialisation from a seeded generator (the default one is runtime/random.ts's `defaultGenerator`). */
import type { Random } from '../runtime/random.js';

/** n values from U(−bound, bound). */
export function uniformValues(n: number, bound: number, rng: Random): Float32Array {
  return rng.uniformArray(n, -bound, bound);
}
