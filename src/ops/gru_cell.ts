/**
 * One GRU step as a fused kernel (shaders/gru_cell.wgsl), after cuDNN's split of the work: the input projections
 * of every step come from one matmul before the recurrence, the hidden projection from one matmul per step, and
 * this op combines them with the previous state. Its backward kernel (gru_cell_backward.wgsl) recomputes the gates
 * and returns dgi, dgh and the direct part of dh; autograd carries them through the matmuls.
 */
import { OpError, apply, backwardOnlyOp, type OpCase, type OpDef } from '../runtime/op.js';
import type { Tensor } from '../runtime/tensor.js';

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

/**
 * @internal (B, H) from gi (B, G·H), gh (B, G·H) and a state (B, H), G = `gates`; shared with lstm_cell.
 * @throws OpError naming `op` and the three shapes otherwise.
 */
export function cellDims(
  op: string,
  gi: readonly number[],
  gh: readonly number[],
  h: readonly number[],
  gates: number,
) {
  const [b, hd] = h;
  if (h.length !== 2 || gi.length !== 2 || gi.join() !== gh.join() || gi[0] !== b || gi[1] !== gates * hd)
    throw new OpError(op, `expects gi (B, ${gates}H), gh (B, ${gates}H), state (B, H)`, [gi, gh, h]);
  return { b, hd };
}

/** @internal the plan of the cell ops: B rows of H hidden units. */
export type Cell = ReturnType<typeof cellDims>;

/** Gates of one GRU element in float64: the CPU twin of both kernels. */
function gruGates(gi: ArrayLike<number>, gh: ArrayLike<number>, g: number, hd: number) {
  const r = sigmoid(gi[g] + gh[g]);
  const z = sigmoid(gi[g + hd] + gh[g + hd]);
  const ghn = gh[g + 2 * hd];
  const n = Math.tanh(gi[g + 2 * hd] + r * ghn);
  return { r, z, n, ghn };
}

function gruCases(): OpCase<Record<string, never>>[] {
  return [
    [1, 1],
    [2, 13],
    [3, 5],
    [1, 70],
    [5, 2],
  ].map(([b, hd]) => ({
    inputs: [{ shape: [b, 3 * hd] }, { shape: [b, 3 * hd] }, { shape: [b, hd] }],
    attrs: {},
  }));
}

export const gruCellOp: OpDef<Record<string, never>, Cell> = {
  name: 'gru_cell',
  shape([gi, gh, h]) {
    return { outputs: [{ shape: h.shape }], plan: cellDims('gru_cell', gi.shape, gh.shape, h.shape, 3) };
  },
  gpu(engine, [gi, gh, h], [y], _attrs, { b, hd }) {
    engine.dispatch('gru_cell', {
      bindings: { gi, gh, h, y },
      params: { n: b * hd, hidden: hd },
      threads: b * hd,
    });
  },
  cpu([gi, gh, h], _attrs, { b, hd }) {
    const y = new Float64Array(b * hd);
    for (let i = 0; i < b * hd; i++) {
      const { z, n } = gruGates(gi.data, gh.data, Math.floor(i / hd) * 3 * hd + (i % hd), hd);
      y[i] = (1 - z) * n + z * h.data[i];
    }
    return [y];
  },
  backward: ({ inputs: [gi, gh, h], dy }) => apply(gruCellBackward, [gi, gh, h, dy], {}),
  cases: gruCases(),
};

export const gruCellBackward = backwardOnlyOp<Record<string, never>, Cell>({
  name: 'gru_cell_backward',
  shape([gi, gh, h, dy]) {
    const plan = cellDims('gru_cell_backward', gi.shape, gh.shape, h.shape, 3);
    if (dy.shape.join() !== h.shape.join())
      throw new OpError('gru_cell_backward', 'dy must have the shape of h', [
        gi.shape,
        gh.shape,
        h.shape,
        dy.shape,
      ]);
    return { outputs: [{ shape: gi.shape }, { shape: gh.shape }, { shape: h.shape }], plan };
  },
  gpu(engine, [gi, gh, h, dy], [dgi, dgh, dh], _attrs, { b, hd }) {
    engine.dispatch('gru_cell_backward', {
      bindings: { gi, gh, h, dy, dgi, dgh, dh },
      params: { n: b * hd, hidden: hd },
      threads: b * hd,
    });
  },
  cpu([gi, gh, h, dy], _attrs, { b, hd }) {
    const dgi = new Float64Array(b * 3 * hd);
    const dgh = new Float64Array(b * 3 * hd);
    const dh = new Float64Array(b * hd);
    for (let i = 0; i < b * hd; i++) {
      const g = Math.floor(i / hd) * 3 * hd + (i % hd);
      const { r, z, n, ghn } = gruGates(gi.data, gh.data, g, hd);
      const d = dy.data[i];
      const dan = d * (1 - z) * (1 - n * n);
      const dar = dan * ghn * r * (1 - r);
      const daz = d * (h.data[i] - n) * z * (1 - z);
      [dgi[g], dgi[g + hd], dgi[g + 2 * hd]] = [dar, daz, dan];
      [dgh[g], dgh[g + hd], dgh[g + 2 * hd]] = [dar, daz, dan * r];
      dh[i] = d * z;
    }
    return [dgi, dgh, dh];
  },
});

/**
 * One step of `torch.nn.GRU` given both projections (gate blocks r, z, n, PyTorch's `weight_ih_l0` order):
 * r = σ(gi_r + gh_r), z = σ(gi_z + gh_z), n = tanh(gi_n + r ⊙ gh_n), h' = (1 − z) ⊙ n + z ⊙ h.
 * @param gi (B, 3H) float32, x_t·W_ihᵀ + b_ih.
 * @param gh (B, 3H) float32, h·W_hhᵀ + b_hh (b_hn stays inside r ⊙ (…), as PyTorch).
 * @param h (B, H) float32, the previous state.
 * @returns h' (B, H). Differentiable in gi, gh and h.
 * @throws OpError naming `gru_cell` and the three shapes when they do not fit (B, 3H), (B, 3H), (B, H).
 */
export function gruCell(gi: Tensor, gh: Tensor, h: Tensor): Tensor {
  return apply(gruCellOp, [gi, gh, h], {})[0];
}
