/**
 * d2l's Seq2SeqEncoder + Seq2SeqAttentionDecoder (GRU or LSTM) written from d2l's code and the equations of the
 * `torch.nn.GRU` / `torch.nn.LSTM` docs in float64, one sequence at a time, for test/seq2seq.test.ts.
 */
import type { Cell } from '../src/models/seq2seq.js';

/** Row-major float64 matrix-vector product W (rows, cols) · x, plus b. */
function affine(w: ArrayLike<number>, b: ArrayLike<number> | null, x: number[], rows: number): number[] {
  const cols = x.length;
  return Array.from({ length: rows }, (_, r) => {
    let acc = b ? b[r] : 0;
    for (let c = 0; c < cols; c++) acc += w[r * cols + c] * x[c];
    return acc;
  });
}

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

/** A layer's state in the reference: h, and c for an LSTM (unused by a GRU). */
interface LayerState {
  h: number[];
  c: number[];
}

/**
 * One step of layer l of `torch.nn.GRU` (gates r, z, n) or `torch.nn.LSTM` (gates i, f, g, o), the equations of
 * their docs.
 */
function rnnStep(
  cell: Cell,
  p: Record<string, ArrayLike<number>>,
  prefix: string,
  l: number,
  x: number[],
  { h, c }: LayerState,
): LayerState {
  const n = h.length;
  const g = cell === 'gru' ? 3 : 4;
  const gi = affine(p[`${prefix}weight_ih_l${l}`], p[`${prefix}bias_ih_l${l}`], x, g * n);
  const gh = affine(p[`${prefix}weight_hh_l${l}`], p[`${prefix}bias_hh_l${l}`], h, g * n);
  if (cell === 'gru')
    return {
      h: h.map((hj, j) => {
        const r = sigmoid(gi[j] + gh[j]);
        const z = sigmoid(gi[n + j] + gh[n + j]);
        const cand = Math.tanh(gi[2 * n + j] + r * gh[2 * n + j]);
        return (1 - z) * cand + z * hj;
      }),
      c,
    };
  const a = gi.map((v, k) => v + gh[k]);
  const next = c.map((cj, j) => sigmoid(a[n + j]) * cj + sigmoid(a[j]) * Math.tanh(a[2 * n + j]));
  return { h: next.map((cj, j) => sigmoid(a[3 * n + j]) * Math.tanh(cj)), c: next };
}

/**
 * d2l's Seq2SeqEncoder + Seq2SeqAttentionDecoder forward in eval mode, written from d2l's code in float64, one
 * sequence at a time: logits (Tt, V) of sequence b.
 */
export function referenceLogits(
  cell: Cell,
  p: Record<string, ArrayLike<number>>,
  dims: { e: number; h: number; layers: number; v: number },
  src: number[],
  validLen: number,
  tgt: number[],
): number[][] {
  const { e, h, layers, v } = dims;
  const row = (name: string, i: number) => Array.from(p[name]).slice(i * e, (i + 1) * e);
  const zeros = () => new Array<number>(h).fill(0);
  // The decoder starts from the encoder's final state of every layer: h, and an LSTM's c.
  let state: LayerState[] = Array.from({ length: layers }, () => ({ h: zeros(), c: zeros() }));
  const layer = (prefix: string, x: number[]) =>
    state.map((s, l) => {
      const next = rnnStep(cell, p, prefix, l, x, s);
      x = next.h;
      return next;
    });
  const encOutputs: number[][] = [];
  for (const tok of src) {
    state = layer('encoder.rnn.', row('encoder.embedding.weight', tok));
    encOutputs.push(state[layers - 1].h);
  }
  const keys = encOutputs.map((k) => affine(p['decoder.attention.W_k.weight'], null, k, h));
  return tgt.map((tok) => {
    const q = affine(p['decoder.attention.W_q.weight'], null, state[layers - 1].h, h);
    const wv = p['decoder.attention.w_v.weight'];
    // d2l's masked_softmax: invalid keys get −1e6 before the softmax.
    const scores = keys.map((k, s) =>
      s < validLen ? k.reduce((acc, kj, j) => acc + wv[j] * Math.tanh(q[j] + kj), 0) : -1e6,
    );
    const m = Math.max(...scores);
    const ex = scores.map((sc) => Math.exp(sc - m));
    const total = ex.reduce((a, b) => a + b);
    const context = new Array<number>(h).fill(0);
    encOutputs.forEach((o, s) => o.forEach((oj, j) => (context[j] += (ex[s] / total) * oj)));
    state = layer('decoder.rnn.', [...context, ...row('decoder.embedding.weight', tok)]);
    return affine(p['decoder.dense.weight'], p['decoder.dense.bias'], state[layers - 1].h, v);
  });
}
