import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus, xoroshiro128plusFromState } from 'pure-rand/generator/xoroshiro128plus';
import type { JumpableRandomGenerator } from 'pure-rand/types/JumpableRandomGenerator';
import { skipN } from 'pure-rand/utils/skipN';

/**
 * pure-rand seeds xoroshiro128+ as (-1, ~seed, seed, 0), so its first outputs are
 * nearly a function of the seed alone (the first uniform is ≈1.0 for every small seed).
 * Discarding a few dozen draws lets the state mix before anything is sampled.
 */
const WARM_UP_DRAWS = 32;

/** A {@link Random}'s whole state, as plain JSON (a checkpoint stores it to resume the stream exactly). */
export interface RandomState {
  /** xoroshiro128+'s four 32-bit words. */
  gen: number[];
  /** The second normal of the last Box–Muller pair, not handed out yet. */
  spareNormal?: number;
}

/**
 * Seeded pseudo-random source: pure-rand's xoroshiro128+ (v8, mutable API) behind the
 * samplers that the d2l data sets and parameter initialisers need, in place of
 * `torch.rand` / `torch.randn` / `torch.randperm`.
 *
 * Every method advances the stream, so one seed always gives one sequence of results
 * provided the same calls are made in the same order. Use {@link Random.fork} to give
 * independent consumers (e.g. initialisation vs. shuffling) their own stream, so that
 * adding draws to one does not change the other.
 */
export class Random {
  private gen: JumpableRandomGenerator;
  /** Box–Muller makes normals in pairs; the second is kept for the next call. */
  private spareNormal: number | undefined;

  /**
   * @param seed - an integer; only its low 32 bits are used (pure-rand takes `seed | 0`).
   * @throws RangeError if `seed` is not an integer.
   */
  constructor(seed: number) {
    if (!Number.isInteger(seed)) throw new RangeError(`Random: seed must be an integer, got ${seed}`);
    this.gen = xoroshiro128plus(seed);
    skipN(this.gen, WARM_UP_DRAWS);
  }

  /**
   * A float uniform in [low, high) (float64, 53 random bits), like `torch.rand` scaled.
   * @param low - inclusive lower bound (default 0).
   * @param high - exclusive upper bound (default 1); must exceed `low`.
   */
  uniform(low = 0, high = 1): number {
    if (!(high > low)) throw new RangeError(`Random.uniform: need low < high, got [${low}, ${high})`);
    for (;;) {
      const x = low + (high - low) * uniformFloat64(this.gen);
      // Rounding in the affine map can land exactly on `high`; redraw to keep the interval half-open.
      if (x < high) return x;
    }
  }

  /**
   * A normal sample N(mean, std²) by the Box–Muller transform, like `torch.normal`.
   * @param mean - the mean (default 0).
   * @param std - the standard deviation, not the variance (default 1).
   */
  normal(mean = 0, std = 1): number {
    if (this.spareNormal !== undefined) {
      const z = this.spareNormal;
      this.spareNormal = undefined;
      return mean + std * z;
    }
    // 1 - u lies in (0, 1], so the logarithm stays finite.
    const u1 = 1 - uniformFloat64(this.gen);
    const u2 = uniformFloat64(this.gen);
    const r = Math.sqrt(-2 * Math.log(u1));
    const theta = 2 * Math.PI * u2;
    this.spareNormal = r * Math.sin(theta);
    return mean + std * r * Math.cos(theta);
  }

  /**
   * An integer uniform in [0, n), without modulo bias.
   * @param n - a positive safe integer, the number of outcomes.
   */
  int(n: number): number {
    if (!Number.isSafeInteger(n) || n <= 0)
      throw new RangeError(`Random.int: n must be a positive integer, got ${n}`);
    return uniformInt(this.gen, 0, n - 1);
  }

  /**
   * Shuffles `array` in place by Fisher–Yates (every order equally likely).
   * @returns the same array, for chaining.
   */
  shuffle<T>(array: T[]): T[] {
    for (let i = array.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = array[i];
      array[i] = array[j];
      array[j] = tmp;
    }
    return array;
  }

  /**
   * A uniformly random ordering of 0 … n-1, like `torch.randperm(n)`.
   * @param n - a non-negative integer; the result has length n.
   */
  permutation(n: number): number[] {
    if (!Number.isSafeInteger(n) || n < 0) {
      throw new RangeError(`Random.permutation: n must be a non-negative integer, got ${n}`);
    }
    return this.shuffle(Array.from({ length: n }, (_, i) => i));
  }

  /**
   * Splits off an independent stream. The child takes this stream's next 2^64 draws and
   * this stream jumps past them (xoroshiro128+'s jump), so the two never overlap and
   * repeated forks give distinct children. Deterministic: the same seed and call order
   * give the same child.
   */
  fork(): Random {
    const child = new Random(0);
    child.gen = this.gen.clone();
    this.gen.jump();
    return child;
  }

  /** The stream's state: {@link Random.setState} with it continues exactly where this stream is now. */
  getState(): RandomState {
    return {
      gen: [...this.gen.getState()],
      ...(this.spareNormal === undefined ? {} : { spareNormal: this.spareNormal }),
    };
  }

  /**
   * Moves the stream to a state from {@link Random.getState} (of this generator or another).
   * @throws RangeError for a state that is not four 32-bit integers (and an optional finite spare normal).
   */
  setState(state: RandomState): void {
    const { gen, spareNormal } = state ?? {};
    if (!Array.isArray(gen) || gen.length !== 4 || !gen.every((w) => Number.isInteger(w) && (w | 0) === w))
      throw new RangeError(`Random.setState: gen must be four 32-bit integers, got ${JSON.stringify(gen)}`);
    if (spareNormal !== undefined && !Number.isFinite(spareNormal))
      throw new RangeError(
        `Random.setState: spareNormal must be a finite number, got ${String(spareNormal)}`,
      );
    this.gen = xoroshiro128plusFromState(gen);
    this.spareNormal = spareNormal;
  }

  /**
   * `n` floats uniform in [low, high), each rounded to float32 (redrawn if rounding reaches `high`).
   * @returns a Float32Array of shape (n).
   */
  uniformArray(n: number, low = 0, high = 1): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      let x = Math.fround(this.uniform(low, high));
      while (x >= high) x = Math.fround(this.uniform(low, high));
      out[i] = x;
    }
    return out;
  }

  /**
   * `n` samples of N(mean, std²) rounded to float32.
   * @param std - the standard deviation, not the variance.
   * @returns a Float32Array of shape (n).
   */
  normalArray(n: number, mean = 0, std = 1): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = this.normal(mean, std);
    return out;
  }
}

/**
 * The generator that layers and ops (dropout) draw from when given no `rng`: PyTorch's default generator, which
 * `torch.manual_seed` reseeds. It lives here, with the RNG, so that ops and nn below train/ can reach it.
 */
let generator = new Random(0);

/** Reseeds the default generator (`torch.manual_seed`): layers' initialisation, dropout's masks. */
export function manualSeed(seed: number): void {
  generator = new Random(seed);
}

/** The generator layers draw from when no `rng` option is given. */
export function defaultGenerator(): Random {
  return generator;
}
