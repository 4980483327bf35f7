/** Inputs and output checks shared by the cases. */
import { Random } from '../../src/index.js';

/** `n` standard-normal float32 values from a fixed seed, so every run benchmarks the same data. */
export function randomValues(n: number, seed: number): Float32Array {
  const rng = new Random(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.normal();
  return out;
}

/** `n` integers uniform in [lo, hi], as int32. */
export function randomInts(n: number, lo: number, hi: number, seed: number): Int32Array {
  const rng = new Random(seed);
  return Int32Array.from({ length: n }, () => lo + rng.int(hi - lo + 1));
}

/**
 * A variant's output disagrees with the CPU reference: always fatal, for ours and for every peer (unlike a peer
 * that cannot run a case at all, which is recorded as unavailable).
 */
export class Mismatch extends Error {
  override name = 'Mismatch';
}

/**
 * Throws a {@link Mismatch} unless `got` matches `want` to `tol` in max |got − want| / (1 + max |want|), naming the case, the
 * variant and the output. `at` maps positions of `want` to positions of `got` when only a sample was computed.
 */
export function expectClose(
  what: string,
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  tol: number,
  at?: ArrayLike<number>,
): void {
  if (!at && got.length !== want.length)
    throw new Mismatch(`${what}: ${got.length} values, the CPU reference has ${want.length}`);
  let err = 0;
  let scale = 0;
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    const g = got[at ? at[i] : i];
    const e = Math.abs(g - want[i]);
    if (!(e <= err)) [err, worst] = [Number.isNaN(e) ? Infinity : e, i];
    scale = Math.max(scale, Math.abs(want[i]));
  }
  const rel = err / (1 + scale);
  if (!(rel <= tol))
    throw new Mismatch(
      `${what}: relative error ${rel.toExponential(2)} > ${tol} vs the CPU reference ` +
        `(at ${at ? at[worst] : worst}: got ${got[at ? at[worst] : worst]}, want ${want[worst]})`,
    );
}

/** `count` distinct positions in [0, n), fixed by `seed`, sorted: the entries a sampled check computes. */
export function samplePositions(n: number, count: number, seed: number): number[] {
  if (count >= n) return Array.from({ length: n }, (_, i) => i);
  const rng = new Random(seed);
  const picked = new Set<number>([0, n - 1]);
  while (picked.size < count) picked.add(rng.int(n));
  return [...picked].sort((a, b) => a - b);
}

/** Reads a TF.js tensor's values and disposes it. */
export async function tfValues(t: {
  data(): Promise<ArrayLike<number>>;
  dispose(): void;
}): Promise<ArrayLike<number>> {
  try {
    return await t.data();
  } finally {
    t.dispose();
  }
}
