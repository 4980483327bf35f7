/**
 * One LSTM step as a fused kernel (shaders/lstm_cell.wgsl), split like the GRU cell (src/ops/gru_cell.ts): input
 * projections from one matmul over all steps, the hidden projection from one matmul per step, the gates here.
 * The two new states leave as ONE tensor y = [h'; c'] (2, B, H), because an op has a single differentiable
 * output; {@link lstmCell} slices it, so gradients reaching h' and c' meet again in y's gradient. The backward
 * kernel (lstm_cell_backward.wgsl) recomputes the gates and returns the pre-activation gradient, which is the
 * gradient of both gi and gh (they are summed), and dc.
 */
import { OpError, apply, backwardOnlyOp, type OpCase, type OpDef } from '../runtime/op.js';
import type { Tensor } from '../runtime/tensor.js';
import { slice } from './concat.js';
import { cellDims, type Cell } from './gru_cell.js';
import { reshape } from './shape.js';

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

/** Gates and new cell state of one LSTM element in float64: the CPU twin of both kernels. */
function lstmGates(gi: ArrayLike<number>, gh: ArrayLike<number>, c: number, a: number, hd: number) {
  const i = sigmoid(gi[a] + gh[a]);
  const f = sigmoid(gi[a + hd] + gh[a + hd]);
  const g = Math.tanh(gi[a + 2 * hd] + gh[a + 2 * hd]);
  const o = sigmoid(gi[a + 3 * hd] + gh[a + 3 * hd]);
  const c1 = f * c + i * g;
  return { i, f, g, o, c1 };
}

function lstmCases(): OpCase<Record<string, never>>[] {
  return [
    [1, 1],
    [2, 13],
    [3, 5],
    [1, 70],
    [5, 2],
  ].map(([b, hd]) => ({
    inputs: [{ shape: [b, 4 * hd] }, { shape: [b, 4 * hd] }, { shape: [b, hd] }],
    attrs: {},
  }));
}

export const lstmCellOp: OpDef<Record<string, never>, Cell> = {
  name: 'lstm_cell',
  shape([gi, gh, c]) {
    const plan = cellDims('lstm_cell', gi.shape, gh.shape, c.shape, 4);
    return { outputs: [{ shape: [2, plan.b, plan.hd] }], plan };
  },
  gpu(engine, [gi, gh, c], [y], _attrs, { b, hd }) {
    engine.dispatch('lstm_cell', {
      bindings: { gi, gh, c, y },
      params: { n: b * hd, hidden: hd },
      threads: b * hd,
    });
  },
  cpu([gi, gh, c], _attrs, { b, hd }) {
    const n = b * hd;
    const y = new Float64Array(2 * n);
    for (let k = 0; k < n; k++) {
      const { o, c1 } = lstmGates(gi.data, gh.data, c.data[k], Math.floor(k / hd) * 4 * hd + (k % hd), hd);
      y[k] = o * Math.tanh(c1);
      y[n + k] = c1;
    }
    return [y];
  },
  backward({ inputs: [gi, gh, c], dy }) {
    const [da, dc] = apply(lstmCellBackward, [gi, gh, c, dy], {});
    return [da, da, dc];
  },
  cases: lstmCases(),
};

export const lstmCellBackward = backwardOnlyOp<Record<string, never>, Cell>({
  name: 'lstm_cell_backward',
  shape([gi, gh, c, dy]) {
    const plan = cellDims('lstm_cell_backward', gi.shape, gh.shape, c.shape, 4);
    if (dy.shape.join() !== [2, plan.b, plan.hd].join())
      throw new OpError('lstm_cell_backward', 'dy must be (2, B, H)', [
        gi.shape,
        gh.shape,
        c.shape,
        dy.shape,
      ]);
    return { outputs: [{ shape: gi.shape }, { shape: c.shape }], plan };
  },
  gpu(engine, [gi, gh, c, dy], [da, dc], _attrs, { b, hd }) {
    engine.dispatch('lstm_cell_backward', {
      bindings: { gi, gh, c, dy, da, dc },
      params: { n: b * hd, hidden: hd },
      threads: b * hd,
    });
  },
  cpu([gi, gh, c, dy], _attrs, { b, hd }) {
    const n = b * hd;
    const da = new Float64Array(4 * n);
    const dc = new Float64Array(n);
    for (let k = 0; k < n; k++) {
      const a = Math.floor(k / hd) * 4 * hd + (k % hd);
      const { i, f, g, o, c1 } = lstmGates(gi.data, gh.data, c.data[k], a, hd);
      const tc = Math.tanh(c1);
      const dh1 = dy.data[k];
      const dc1 = dy.data[n + k] + dh1 * o * (1 - tc * tc);
      da[a] = dc1 * g * i * (1 - i);
      da[a + hd] = dc1 * c.data[k] * f * (1 - f);
      da[a + 2 * hd] = dc1 * i * (1 - g * g);
      da[a + 3 * hd] = dh1 * tc * o * (1 - o);
      dc[k] = dc1 * f;
    }
    return [da, dc];
  },
});

/**
 * One step of `torch.nn.LSTM` given both projections (gate blocks i, f, g, o, PyTorch's `weight_ih_l0` order),
 * a = gi + gh: i = σ(a_i), f = σ(a_f), g = tanh(a_g), o = σ(a_o), c' = f ⊙ c + i ⊙ g, h' = o ⊙ tanh(c').
 * @param gi (B, 4H) float32, x_t·W_ihᵀ + b_ih.
 * @param gh (B, 4H) float32, h·W_hhᵀ + b_hh.
 * @param c (B, H) float32, the previous cell state (h enters only through gh).
 * @returns [h' (B, H), c' (B, H)], both differentiable: slices of the op's single output (2, B, H).
 * @throws OpError naming `lstm_cell` and the three shapes when they do not fit (B, 4H), (B, 4H), (B, H).
 */
export function lstmCell(gi: Tensor, gh: Tensor, c: Tensor): [Tensor, Tensor] {
  const y = apply(lstmCellOp, [gi, gh, c], {})[0];
  const part = (k: number) => reshape(slice(y, 0, k, k + 1), c.shape);
  return [part(0), part(1)];
}
