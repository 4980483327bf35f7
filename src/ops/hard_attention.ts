/**
 * Hard attention: each query takes ONE value row, chosen by the argmax of its (masked) scores or sampled with
 * probability ∝ its attention weights (the stochastic hard attention of Xu et al. 2015, "Show, Attend and Tell",
 * next to d2l §11.3's soft attention). One kernel, shaders/hard_attention.wgsl. Forward only: the index is a step
 * function of the scores, so the op's backward throws rather than silently returning zeros.
 */
import { OpError, apply, type CpuTensor, type OpCase, type OpDef, type TensorMeta } from '../runtime/op.js';
import type { Tensor } from '../runtime/tensor.js';
import { dropoutUniform, nextSeed } from './dropout.js';
import { lensRows, validLength, withValidLens, type ValidLens } from './valid_lens.js';

export type HardAttentionMode = 'argmax' | 'sample';

export interface HardAttentionAttrs {
  mode: HardAttentionMode;
  /** u32 seed of the sampling draws (unused by argmax); row r = b·L + i draws `dropoutUniform(seed, r)`. */
  seed: number;
}

/** The plan: B·L query rows over S keys of D-wide values. */
interface Layout {
  b: number;
  l: number;
  s: number;
  d: number;
  /** Query rows sharing one valid length, 0 without lengths (valid_lens.ts). */
  lensRows: number;
}

function layout(x: TensorMeta, v: TensorMeta, lens: TensorMeta | undefined): Layout {
  const shapes = lens ? [x.shape, v.shape, lens.shape] : [x.shape, v.shape];
  const op = 'hard_attention';
  if (x.shape.length !== 3 || v.shape.length !== 3)
    throw new OpError(op, 'expects scores or weights (B, L, S) and values (B, S, D)', shapes);
  const [b, l, s] = x.shape;
  if (v.shape[0] !== b || v.shape[1] !== s)
    throw new OpError(op, 'values (B, S, D) must match the batch and key sizes of (B, L, S)', shapes);
  if (s === 0) throw new OpError(op, 'there must be at least one key (S ≥ 1) to select', shapes);
  if (x.dtype !== 'float32' || v.dtype !== 'float32')
    throw new OpError(op, 'scores and values must be float32', shapes);
  const rows = lensRows(op, [b, l], lens, shapes, ', the leading dims of (B, L, S)');
  return { b, l, s, d: v.shape[2], lensRows: rows };
}

/** The float64 twin of the kernel: selected key per row, then the copied value rows. */
function hardAttentionCpu(
  [x, v, lens]: CpuTensor[],
  { mode, seed }: HardAttentionAttrs,
  lay: Layout,
): ArrayLike<number>[] {
  const { b, l, s, d } = lay;
  const y = new Float64Array(b * l * d);
  const idx = new Int32Array(b * l);
  for (let r = 0; r < b * l; r++) {
    const len = validLength(lay.lensRows, lens, r, s);
    const n = Math.min(Math.max(len, 0), s);
    const row = (j: number) => x.data[r * s + j];
    let j = -1;
    if (mode === 'argmax') {
      for (let c = 0; c < n; c++) if (j < 0 || row(c) > row(j)) j = c;
      if (j < 0) j = 0;
    } else {
      const u = dropoutUniform(seed, r);
      let total = 0;
      for (let c = 0; c < n; c++) total += row(c);
      let cum = 0;
      for (let c = 0; c < n && j < 0; c++) if ((cum += row(c)) > u * total) j = c;
      if (n === 0) j = Math.min(Math.floor(u * s), s - 1);
      else if (j < 0) j = n - 1;
    }
    idx[r] = j;
    const bi = Math.floor(r / l);
    for (let e = 0; e < d; e++) y[r * d + e] = v.data[(bi * s + j) * d + e];
  }
  return [y, idx];
}

const lensCase = (shape: number[], values: number[]) => ({
  shape,
  dtype: 'int32' as const,
  fill: { values },
});

const forwardCases: OpCase<HardAttentionAttrs>[] = [
  { inputs: [{ shape: [1, 1, 1] }, { shape: [1, 1, 1] }], attrs: { mode: 'argmax', seed: 0 } },
  { inputs: [{ shape: [2, 3, 7] }, { shape: [2, 7, 5] }], attrs: { mode: 'argmax', seed: 0 } },
  {
    name: 'per-batch lens, one of them 0',
    inputs: [{ shape: [2, 4, 5] }, { shape: [2, 5, 3] }, lensCase([2], [3, 0])],
    attrs: { mode: 'argmax', seed: 0 },
  },
  {
    name: 'per-row lens 0, 1, S and > S',
    inputs: [{ shape: [2, 3, 129] }, { shape: [2, 129, 2] }, lensCase([2, 3], [0, 1, 129, 200, 64, 5])],
    attrs: { mode: 'argmax', seed: 0 },
  },
  {
    name: 'rows past one dispatch',
    inputs: [{ shape: [1, 70000, 2] }, { shape: [1, 2, 3] }],
    attrs: { mode: 'argmax', seed: 0 },
  },
  {
    inputs: [{ shape: [2, 3, 7], fill: 'positive' }, { shape: [2, 7, 4] }],
    attrs: { mode: 'sample', seed: 42 },
  },
  {
    name: 'sample, per-row lens 1, S, 0 and in between',
    inputs: [
      { shape: [2, 2, 150], fill: 'positive' },
      { shape: [2, 150, 3] },
      lensCase([2, 2], [1, 150, 0, 77]),
    ],
    attrs: { mode: 'sample', seed: 4294967295 },
  },
  {
    name: 'sample, per-batch lens',
    inputs: [{ shape: [3, 5, 9], fill: 'positive' }, { shape: [3, 9, 2] }, lensCase([3], [9, 4, 2])],
    attrs: { mode: 'sample', seed: 7 },
  },
];
/** Every case is forward only: there is no gradient to check. */
const cases = forwardCases.map((c) => ({ ...c, noGradCheck: true }));

export const hardAttentionOp: OpDef<HardAttentionAttrs, Layout> = {
  name: 'hard_attention',
  shape([x, v, lens]) {
    const plan = layout(x, v, lens);
    const { b, l, d } = plan;
    return { outputs: [{ shape: [b, l, d] }, { shape: [b, l], dtype: 'int32' }], plan };
  },
  gpu(engine, [x, v, lens], [y, idx], { mode, seed }, { b, l, s, d, lensRows: rowsPerLen }) {
    engine.dispatch('hard_attention', {
      bindings: { x, v, lens: lens ?? null, y, idx },
      params: { rows: b * l, l, s, d, lens_rows: rowsPerLen, seed: seed >>> 0 },
      constants: { MODE: mode === 'argmax' ? 0 : 1 },
      groups: b * l,
    });
  },
  cpu: hardAttentionCpu,
  // Recorded on the tape only so that asking for a gradient through it fails loudly instead of giving zeros.
  backward() {
    throw new Error(
      'hard attention is not differentiable: the selected index is a step function of the scores, so no ' +
        'gradient reaches them (and none is implemented for the values). Detach the inputs (requiresGrad = ' +
        'false), use soft attention (maskedSoftmax then matmul), or train the selection with a score-function ' +
        '(REINFORCE) estimator as Xu et al. 2015 do.',
    );
  },
  cases,
};

export interface HardAttentionOptions {
  /** 'argmax' (default): the key with the largest score; 'sample': a key drawn with probability ∝ its weight. */
  mode?: HardAttentionMode;
  /** u32 seed for 'sample'; defaults to a fresh one from the default generator. Same seed, same draws. */
  seed?: number;
  /** Valid key lengths, int32 (B) or (B, L), or plain arrays (uploaded as int32), with maskedSoftmax's meaning. */
  validLens?: ValidLens;
}

export interface HardAttentionResult {
  /** (B, L, D): the value row each query selected. */
  output: Tensor;
  /** (B, L) int32: the selected key index j per query. */
  indices: Tensor;
}

/**
 * Hard attention: each query takes exactly one value row instead of a weighted average. With `mode: 'argmax'`
 * the row of its largest score among the valid keys (the first one on ties; softmax is monotone, so scores and
 * weights give the same choice); with `mode: 'sample'` key j is drawn with probability x[b, i, j] / Σ_{j'<n}
 * x[b, i, j'] from u = `dropoutUniform(seed, b·L + i)`, taking the first j whose cumulative weight exceeds
 * u·total (Xu et al. 2015's stochastic hard attention; pass non-negative weights, e.g. a maskedSoftmax output).
 * Keys at or past a row's valid length are never chosen; a row with valid length 0 (uniform under d2l's masked
 * softmax) takes key 0 in argmax mode and a uniform key in sample mode. NaN scores give an unspecified choice.
 * @param x (B, L, S) float32 attention scores or weights.
 * @param values (B, S, D) float32.
 * @returns `output` (B, L, D) and `indices` (B, L) int32.
 * @throws OpError naming `hard_attention` and the shapes when x is not (B, L, S), values not (B, S, D), S is 0,
 *   or validLens is not int32 (B) / (B, L). Not differentiable: `backward()` reaching it throws an Error that
 *   starts "hard attention is not differentiable".
 */
export function hardAttention(
  x: Tensor,
  values: Tensor,
  { mode = 'argmax', seed, validLens }: HardAttentionOptions = {},
): HardAttentionResult {
  const attrs = { mode, seed: mode === 'sample' ? (seed ?? nextSeed()) : (seed ?? 0) };
  const [output, indices] = withValidLens(
    x.engine,
    'hard_attention',
    validLens,
    (lens) => apply(hardAttentionOp, lens ? [x, values, lens] : [x, values], attrs),
    (outs) => outs[0].creator !== null,
  );
  return { output, indices };
}
