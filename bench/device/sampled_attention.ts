/**
 * Validation of scaled dot-product attention at GPU sizes (L up to 8192), where the CPU reference of whole heads
 * (bench/cases/sdpa.ts's default check) takes minutes: a float64 reference of sampled query rows of two heads.
 *
 * The forward output is checked on the sampled rows. For the backward, the upstream gradient of the checked heads
 * is zero outside the sampled rows, so their dk and dv are sums over those rows alone: the whole of dq, dk and dv
 * of the checked heads is then computed exactly, at a cost of rows · L · D per head instead of L² · D. The kernels
 * cannot tell (they are dense: no work depends on the values); only the other heads keep a random gradient
 * everywhere, and the rows are spread over the whole length (the first, the last and random ones between), so
 * every query block of the tiled backward kernels contributes.
 */
import { samplePositions } from '../harness/check.js';

export interface AttentionInputs {
  /** (heads, l, d) row-major, float32. */
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
  /** The upstream gradient; rows of the checked heads outside the sampled ones are zeroed in place. */
  dy: Float32Array;
  /** One valid length per head: keys at positions ≥ it are masked. */
  lens: Int32Array;
  l: number;
  d: number;
}

export interface SampledAttention {
  /** The heads checked: the first and the last. */
  heads: number[];
  /** The sampled query rows (the same in each checked head). */
  rows: number[];
  /** Per output (output, dq, dk, dv): positions in the full (heads, l, d) array that `want` gives. */
  at: number[][];
  /** The float64 reference at `at`: the output alone, or with dq, dk and dv. */
  want(withBackward: boolean): Float64Array[];
}

/** How many query rows the reference computes per checked head. */
export const SAMPLED_ROWS = 16;

/** Zeroes `dy` outside the sampled rows of the checked heads and returns the sampled reference. */
export function sampledAttention(x: AttentionInputs, rowCount = SAMPLED_ROWS): SampledAttention {
  const { l, d } = x;
  const nHeads = x.lens.length;
  const heads = [...new Set([0, nHeads - 1])];
  const rows = samplePositions(l, Math.min(l, rowCount), 7);
  const picked = new Set(rows);
  for (const h of heads)
    for (let i = 0; i < l; i++) if (!picked.has(i)) x.dy.fill(0, (h * l + i) * d, (h * l + i + 1) * d);
  const rowPositions = heads.flatMap((h) => rows.flatMap((i) => range((h * l + i) * d, d)));
  const headPositions = heads.flatMap((h) => range(h * l * d, l * d));
  const at = [rowPositions, headPositions, headPositions, headPositions];
  return {
    heads,
    rows,
    at,
    want(withBackward) {
      const out = heads.map((h) => head(x, h, rows, withBackward));
      const cat = (f: (r: HeadReference) => Float64Array) => concat(out.map(f));
      return withBackward
        ? [cat((r) => r.output), cat((r) => r.dq), cat((r) => r.dk), cat((r) => r.dv)]
        : [cat((r) => r.output)];
    },
  };
}

interface HeadReference {
  /** (rows, d): the output at the sampled rows. */
  output: Float64Array;
  /** (l, d) each: the whole head's gradients. */
  dq: Float64Array;
  dk: Float64Array;
  dv: Float64Array;
}

function range(start: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => start + i);
}

function concat(parts: Float64Array[]): Float64Array {
  const out = new Float64Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * One head: for each sampled row i, its softmax row P_i over the valid keys, O_i = Σ_j P_ij v_j and, with the
 * upstream gradient g_i of that row, dP_ij = g_i·v_j, δ_i = Σ_j P_ij dP_ij, dS_ij = P_ij (dP_ij − δ_i), then
 * dq_i = scale Σ_j dS_ij k_j, dk_j += scale dS_ij q_i, dv_j += P_ij g_i. Masked keys get P = 0 (their score is
 * −1e6, whose exponential underflows); rows without gradient contribute nothing.
 */
function head(x: AttentionInputs, h: number, rows: number[], withBackward: boolean): HeadReference {
  const { l, d } = x;
  const keys = Math.min(l, x.lens[h]);
  // A length of 0 (every key masked, averaged) has no use at these sizes and would need its own formula.
  if (!(keys >= 1))
    throw new Error(`sampled attention reference: head ${h} has valid length ${x.lens[h]} < 1`);
  const scale = 1 / Math.sqrt(d);
  const base = h * l * d;
  const output = new Float64Array(rows.length * d);
  const dq = new Float64Array(withBackward ? l * d : 0);
  const dk = new Float64Array(withBackward ? l * d : 0);
  const dv = new Float64Array(withBackward ? l * d : 0);
  const p = new Float64Array(keys);
  const dp = new Float64Array(keys);
  rows.forEach((i, r) => {
    const qi = base + i * d;
    let max = -Infinity;
    for (let j = 0; j < keys; j++) {
      const kj = base + j * d;
      let s = 0;
      for (let c = 0; c < d; c++) s += x.q[qi + c] * x.k[kj + c];
      p[j] = s * scale;
      if (p[j] > max) max = p[j];
    }
    let sum = 0;
    for (let j = 0; j < keys; j++) sum += p[j] = Math.exp(p[j] - max);
    for (let j = 0; j < keys; j++) {
      p[j] /= sum;
      const vj = base + j * d;
      for (let c = 0; c < d; c++) output[r * d + c] += p[j] * x.v[vj + c];
    }
    if (!withBackward) return;
    let delta = 0;
    for (let j = 0; j < keys; j++) {
      const vj = base + j * d;
      let s = 0;
      for (let c = 0; c < d; c++) s += x.dy[qi + c] * x.v[vj + c];
      dp[j] = s;
      delta += p[j] * s;
    }
    for (let j = 0; j < keys; j++) {
      const ds = p[j] * (dp[j] - delta) * scale;
      const kj = base + j * d;
      for (let c = 0; c < d; c++) {
        dq[i * d + c] += ds * x.k[kj + c];
        dk[j * d + c] += ds * x.q[qi + c];
        dv[j * d + c] += p[j] * x.dy[qi + c];
      }
    }
  });
  return { output, dq, dk, dv };
}
