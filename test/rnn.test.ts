/**
 * GRU and LSTM against an independent float64 implementation of PyTorch's equations written here (the equations of
 * the `torch.nn.GRU` / `torch.nn.LSTM` docs, nothing from src/): forward values, multi-layer shapes, and gradients
 * of a whole sequence vs central finite differences of that reference and vs the CPU engine's autograd. The cell
 * ops themselves (awkward sizes, kernel vs reference, backward vs finite differences) are in the registry test.
 */
import { describe, expect, it } from 'vitest';
import { Random } from '../src/data/random.js';
import { DIRECT_UNBIND, concat, slice, stack, unbind } from '../src/ops/concat.js';
import { add, mul } from '../src/ops/elementwise.js';
import { sum } from '../src/ops/reduce.js';
import { GRU, LSTM } from '../src/nn/rnn.js';
import { backward } from '../src/ops/autograd.js';
import type { Engine } from '../src/runtime/engine.js';
import { setEngine } from '../src/runtime/global.js';
import { OpError } from '../src/runtime/op.js';
import type { Tensor } from '../src/runtime/tensor.js';
import { useEngine } from './engine_fixture.js';
import { expectClose } from './helpers.js';

const gpu = useEngine();
const cpu = useEngine('cpu', { current: false });

type Kind = 'gru' | 'lstm';
interface Dims {
  t: number;
  b: number;
  i: number;
  h: number;
  layers: number;
}

const sig = (v: number) => 1 / (1 + Math.exp(-v));

/** PyTorch's state_dict names and shapes for `kind`, in registration order. */
function paramShapes(kind: Kind, { i, h, layers }: Dims): [string, number[]][] {
  const g = kind === 'gru' ? 3 : 4;
  return Array.from({ length: layers }, (_, l): [string, number[]][] => [
    [`weight_ih_l${l}`, [g * h, l === 0 ? i : h]],
    [`weight_hh_l${l}`, [g * h, h]],
    [`bias_ih_l${l}`, [g * h]],
    [`bias_hh_l${l}`, [g * h]],
  ]).flat();
}

/**
 * The float64 reference: `torch.nn.GRU` / `torch.nn.LSTM` equations per step, layer by layer, no dropout.
 * Returns output (T, B, H) and the last h (and c) of every layer (L, B, H), flat.
 */
function reference(
  kind: Kind,
  p: Record<string, ArrayLike<number>>,
  d: Dims,
  x: ArrayLike<number>,
  h0: ArrayLike<number>,
  c0: ArrayLike<number>,
) {
  const { t: T, b: B, h: H, layers } = d;
  const G = kind === 'gru' ? 3 : 4;
  let input = Array.from(x);
  let width = d.i;
  const hN = new Float64Array(layers * B * H);
  const cN = new Float64Array(layers * B * H);
  for (let l = 0; l < layers; l++) {
    const [wih, whh, bih, bhh] = ['weight_ih', 'weight_hh', 'bias_ih', 'bias_hh'].map((n) => p[`${n}_l${l}`]);
    const h = Array.from(h0).slice(l * B * H, (l + 1) * B * H);
    const c = Array.from(c0).slice(l * B * H, (l + 1) * B * H);
    const out = new Array<number>(T * B * H);
    for (let t = 0; t < T; t++) {
      const hNext = new Array<number>(B * H);
      for (let b = 0; b < B; b++) {
        const gi = (j: number) => {
          let s = bih[j];
          for (let k = 0; k < width; k++) s += wih[j * width + k] * input[(t * B + b) * width + k];
          return s;
        };
        const gh = (j: number) => {
          let s = bhh[j];
          for (let k = 0; k < H; k++) s += whh[j * H + k] * h[b * H + k];
          return s;
        };
        for (let j = 0; j < H; j++) {
          const at = b * H + j;
          if (G === 3) {
            const r = sig(gi(j) + gh(j));
            const z = sig(gi(H + j) + gh(H + j));
            const n = Math.tanh(gi(2 * H + j) + r * gh(2 * H + j));
            hNext[at] = (1 - z) * n + z * h[at];
          } else {
            const ig = sig(gi(j) + gh(j));
            const f = sig(gi(H + j) + gh(H + j));
            const g = Math.tanh(gi(2 * H + j) + gh(2 * H + j));
            const o = sig(gi(3 * H + j) + gh(3 * H + j));
            c[at] = f * c[at] + ig * g;
            hNext[at] = o * Math.tanh(c[at]);
          }
        }
      }
      // c was updated in place above: every c[at] is read once, before its own update.
      h.splice(0, B * H, ...hNext);
      out.splice(t * B * H, B * H, ...hNext);
    }
    hN.set(h, l * B * H);
    cN.set(c, l * B * H);
    input = out;
    width = H;
  }
  return { out: Float64Array.from(input), hN, cN };
}

/** Random float32-representable parameters (U(−0.6, 0.6): far enough from 0 that the gates saturate a bit). */
function randomParams(kind: Kind, d: Dims, rng: Random): Record<string, Float32Array> {
  return Object.fromEntries(
    paramShapes(kind, d).map(([n, s]) => [
      n,
      rng.uniformArray(
        s.reduce((a, v) => a * v, 1),
        -0.6,
        0.6,
      ),
    ]),
  );
}

function build(kind: Kind, d: Dims, engine: Engine, p: Record<string, Float32Array>): GRU | LSTM {
  setEngine(engine);
  const net =
    kind === 'gru' ? new GRU(d.i, d.h, { numLayers: d.layers }) : new LSTM(d.i, d.h, { numLayers: d.layers });
  net.loadStateDict(p);
  return net;
}

/** Runs the module; returns output and the final states as one list [out, h] or [out, h, c]. */
function run(net: GRU | LSTM, x: Tensor, h0?: Tensor, c0?: Tensor): Tensor[] {
  if (net instanceof GRU) return net.forward(x, h0);
  const [out, [h, c]] = net.forward(x, h0 && c0 ? [h0, c0] : undefined);
  return [out, h, c];
}

describe.each(['gru', 'lstm'] as const)('%s', (kind) => {
  const G = kind === 'gru' ? 3 : 4;

  it('registers PyTorch state_dict names and shapes, and bounds the initial values', () => {
    const d = { t: 1, b: 1, i: 4, h: 5, layers: 3 };
    const Net = kind === 'gru' ? GRU : LSTM;
    const net = new Net(d.i, d.h, { numLayers: 3, rng: new Random(1) });
    expect(net.namedTensors().map(([n, t]) => [n, [...t.shape]])).toEqual(paramShapes(kind, d));
    const xav = new Net(d.i, d.h, { numLayers: 1, rng: new Random(1), xavier: true });
    expect(xav.parameters()).toHaveLength(4);
    net.dispose();
    xav.dispose();
  });

  it('initialises like PyTorch, or with Xavier-uniform weight matrices (d2l init_seq2seq)', async () => {
    const Net = kind === 'gru' ? GRU : LSTM;
    const h = 16;
    const net = new Net(3, h, { rng: new Random(2) });
    const xav = new Net(3, h, { rng: new Random(2), xavier: true });
    const maxAbs = async (t: Tensor) => Math.max(...Array.from(await t.data(), Math.abs));
    for (const [name, t] of net.namedTensors())
      expect(await maxAbs(t), name).toBeLessThanOrEqual(1 / Math.sqrt(h));
    const [wih, whh, bih] = xav.parameters();
    const aIh = Math.sqrt(6 / (3 + G * h));
    const aHh = Math.sqrt(6 / (h + G * h));
    expect(await maxAbs(wih)).toBeLessThanOrEqual(aIh);
    expect(await maxAbs(wih)).toBeGreaterThan(0.8 * aIh);
    expect(await maxAbs(whh)).toBeLessThanOrEqual(aHh);
    expect(await maxAbs(whh)).toBeGreaterThan(1 / Math.sqrt(h)); // wider than PyTorch's default: Xavier applied
    expect(await maxAbs(bih)).toBeLessThanOrEqual(1 / Math.sqrt(h));
    net.dispose();
    xav.dispose();
  });

  it.each([
    { t: 5, b: 3, i: 4, h: 7, layers: 2 },
    { t: 1, b: 1, i: 1, h: 1, layers: 1 },
    { t: 4, b: 2, i: 3, h: 13, layers: 3 },
    { t: 9, b: 1, i: 6, h: 70, layers: 1 },
  ])('forward matches the float64 reference: %o', async (d) => {
    const rng = new Random(10 + d.h);
    const p = randomParams(kind, d, rng);
    const x = rng.normalArray(d.t * d.b * d.i);
    const h0 = rng.normalArray(d.layers * d.b * d.h, 0, 0.5);
    const c0 = rng.normalArray(d.layers * d.b * d.h);
    const ref = reference(kind, p, d, x, h0, c0);
    const net = build(kind, d, gpu(), p);
    await gpu().tidyAsync(async () => {
      const state = [d.layers, d.b, d.h];
      const outs = run(
        net,
        gpu().fromArray(x, [d.t, d.b, d.i]),
        gpu().fromArray(h0, state),
        gpu().fromArray(c0, state),
      );
      expect(outs.map((o) => [...o.shape])).toEqual([
        [d.t, d.b, d.h],
        state,
        ...(kind === 'lstm' ? [state] : []),
      ]);
      expectClose(await outs[0].data(), ref.out, { atol: 2e-5, what: 'output' });
      expectClose(await outs[1].data(), ref.hN, { atol: 2e-5, what: 'final h' });
      if (kind === 'lstm') expectClose(await outs[2].data(), ref.cN, { atol: 2e-5, what: 'final c' });
    });
    net.dispose();
  });

  it('starts from zeros without a state, and the last layer of the state is the last output step', async () => {
    const d = { t: 3, b: 2, i: 3, h: 4, layers: 2 };
    const rng = new Random(5);
    const p = randomParams(kind, d, rng);
    const x = rng.normalArray(d.t * d.b * d.i);
    const zeros = new Float64Array(d.layers * d.b * d.h);
    const ref = reference(kind, p, d, x, zeros, zeros);
    const net = build(kind, d, gpu(), p);
    await gpu().tidyAsync(async () => {
      const xt = gpu().fromArray(x, [d.t, d.b, d.i]);
      const [out, h] = run(net, xt);
      expectClose(await out.data(), ref.out, { atol: 2e-5, what: 'output' });
      const last = (await out.data()).slice((d.t - 1) * d.b * d.h);
      expectClose((await h.data()).slice((d.layers - 1) * d.b * d.h), last, {
        atol: 0,
        rtol: 0,
        what: 'h[-1]',
      });
    });
    net.dispose();
  });

  it('gradients through the whole sequence: GPU = CPU engine = float64 finite differences', async () => {
    const d = { t: 3, b: 2, i: 4, h: 5, layers: 2 };
    const rng = new Random(7);
    const p = randomParams(kind, d, rng);
    const x = rng.normalArray(d.t * d.b * d.i);
    const h0 = rng.normalArray(d.layers * d.b * d.h, 0, 0.5);
    const c0 = rng.normalArray(d.layers * d.b * d.h);
    // Loss Σ out ⊙ wo + Σ h ⊙ wh (+ Σ c ⊙ wc): every output and final state counts, with random weights.
    const w = [d.t * d.b * d.h, d.layers * d.b * d.h, d.layers * d.b * d.h].map((n) => rng.normalArray(n));
    const state = [d.layers, d.b, d.h];

    const autograd = async (engine: Engine) => {
      const net = build(kind, d, engine, p);
      const grads = await engine.tidyAsync(async () => {
        const inputs = [
          engine.fromArray(x, [d.t, d.b, d.i]),
          engine.fromArray(h0, state),
          engine.fromArray(c0, state),
        ];
        for (const t of inputs) t.requiresGrad = true;
        const outs = run(net, inputs[0], inputs[1], inputs[2]);
        const terms = outs.map((o, k) => sum(mul(o, engine.fromArray(w[k], o.shape))));
        backward(terms.reduce((a, b) => add(a, b)));
        const named: [string, Tensor][] = [
          ...net.namedTensors(),
          ['x', inputs[0]],
          ['h0', inputs[1]],
          ...(kind === 'lstm' ? [['c0', inputs[2]] as [string, Tensor]] : []),
        ];
        const out: Record<string, Float32Array> = {};
        for (const [n, t] of named) out[n] = (await t.grad!.data()) as Float32Array;
        return out;
      });
      net.dispose();
      return grads;
    };
    const onGpu = await autograd(gpu());
    const onCpu = await autograd(cpu());

    // Central differences of the float64 reference, one coordinate at a time.
    const values: Record<string, Float64Array> = {
      ...Object.fromEntries(Object.entries(p).map(([n, v]) => [n, Float64Array.from(v)])),
      x: Float64Array.from(x),
      h0: Float64Array.from(h0),
      c0: Float64Array.from(c0),
    };
    const objective = () => {
      const r = reference(kind, values, d, values.x, values.h0, values.c0);
      const dot = (a: ArrayLike<number>, b: ArrayLike<number>) =>
        Array.from(a).reduce((s, v, k) => s + v * b[k], 0);
      return dot(r.out, w[0]) + dot(r.hN, w[1]) + (kind === 'lstm' ? dot(r.cN, w[2]) : 0);
    };
    const eps = 1e-6;
    for (const name of Object.keys(onGpu)) {
      const v = values[name];
      const fd = Float64Array.from(v, (orig, k) => {
        v[k] = orig + eps;
        const up = objective();
        v[k] = orig - eps;
        const down = objective();
        v[k] = orig;
        return (up - down) / (2 * eps);
      });
      expectClose(onGpu[name], fd, { atol: 1e-4, rtol: 1e-3, what: `GPU d${name} vs finite differences` });
      expectClose(onCpu[name], fd, {
        atol: 1e-4,
        rtol: 1e-3,
        what: `CPU engine d${name} vs finite differences`,
      });
      expectClose(onGpu[name], onCpu[name], { atol: 1e-5, rtol: 1e-4, what: `GPU vs CPU engine d${name}` });
    }
  });

  it('drops out between layers only, and only in training', async () => {
    const Net = kind === 'gru' ? GRU : LSTM;
    const outputOf = (net: GRU | LSTM, x: Tensor) => run(net, x)[0];
    await gpu().tidyAsync(async () => {
      const x = gpu().fromArray(new Random(3).normalArray(4 * 3 * 2), [4, 3, 2]);
      const one = new Net(2, 6, { dropout: 0.5, rng: new Random(4) });
      const two = new Net(2, 6, { numLayers: 2, dropout: 0.5, rng: new Random(4) });
      const oneTrain = await outputOf(one, x).data();
      const twoTrain = await outputOf(two, x).data();
      one.eval();
      two.eval();
      expect(Array.from(oneTrain)).toEqual(Array.from(await outputOf(one, x).data()));
      expect(Array.from(twoTrain)).not.toEqual(Array.from(await outputOf(two, x).data()));
      one.dispose();
      two.dispose();
    });
  });

  it('throws OpError naming the module and the shapes on bad input or state', () => {
    const Net = kind === 'gru' ? GRU : LSTM;
    const name = kind.toUpperCase();
    const net = new Net(3, 4, { numLayers: 2 });
    gpu().tidy(() => {
      const x = gpu().fromArray(new Float32Array(2 * 5 * 3), [2, 5, 3]);
      const call = (xt: Tensor, s?: Tensor) =>
        net instanceof GRU ? net.forward(xt, s) : net.forward(xt, s ? [s, s] : undefined);
      expect(() => call(gpu().fromArray(new Float32Array(10), [2, 5]))).toThrow(OpError);
      expect(() => call(gpu().fromArray(new Float32Array(20), [2, 5, 2]))).toThrow(
        new RegExp(`^${name}: expects input \\(T, B, 3\\) \\(got \\(2, 5, 2\\)\\)`),
      );
      expect(() => call(x, gpu().fromArray(new Float32Array(20), [1, 5, 4]))).toThrow(
        /expects .*\(2, 5, 4\)/,
      );
      expect(() => call(gpu().fromArray([], [0, 5, 3]))).toThrow(/at least one time step/);
    });
    expect(() => new Net(3, 4, { dropout: 1 })).toThrow(/dropout must be in \[0, 1\)/);
    net.dispose();
  });
});

describe('concat, slice, stack, unbind', () => {
  // 7 steps are sliced one by one; 37 (past DIRECT_UNBIND) go through the halving split.
  it.each([7, 37])('stack and unbind are inverses over %i steps, and gradients flow back', async (steps) => {
    expect(steps <= DIRECT_UNBIND).toBe(steps === 7);
    await gpu().tidyAsync(async () => {
      const values = Array.from({ length: steps * 2 * 3 }, (_, k) => k);
      const x = gpu().fromArray(values, [steps, 2, 3]);
      x.requiresGrad = true;
      const parts = unbind(x, 0);
      expect(parts).toHaveLength(steps);
      expect(parts.every((t) => t.shape.join() === '2,3')).toBe(true);
      expect(Array.from(await parts[5].data())).toEqual(values.slice(30, 36));
      expect(Array.from(await stack(parts, 0).data())).toEqual(values);
      // Σ_t (t + 1)·Σ parts[t]: the gradient of x[t] is t + 1 everywhere.
      backward(sum(stack(parts.map((t, k) => mul(sum(t), k + 1)))));
      expect(Array.from(await x.grad!.data())).toEqual(values.map((_, k) => Math.floor(k / 6) + 1));
      const cols = unbind(x, -1);
      expect(cols.map((t) => [...t.shape])).toEqual([
        [steps, 2],
        [steps, 2],
        [steps, 2],
      ]);
      expect(Array.from(await cols[2].data())).toEqual(values.filter((v) => v % 3 === 2));
      expect([...stack(cols, 2).shape]).toEqual([steps, 2, 3]);
      expect(Array.from(await stack(cols, -1).data())).toEqual(values);
    });
  });

  it('concat and slice: values, the identity shortcuts and errors', async () => {
    await gpu().tidyAsync(async () => {
      const a = gpu().fromArray([1, 2, 3, 4], [2, 2]);
      const b = gpu().fromArray([5, 6], [2, 1]);
      expect(await concat([a, b], 1).toArray()).toEqual([
        [1, 2, 5],
        [3, 4, 6],
      ]);
      expect(await slice(concat([a, b], -1), 1, 1, 3).toArray()).toEqual([
        [2, 5],
        [4, 6],
      ]);
      expect(concat([a])).toBe(a);
      expect(slice(a, 0, 0, 2)).toBe(a);
      expect(() => concat([a, b], 0)).toThrow(
        'concat: shapes must match except along axis 0 (got (2, 2), (2, 1))',
      );
      expect(() => slice(a, 1, 1, 3)).toThrow('slice: range [1, 3) out of bounds along axis 1 (got (2, 2))');
      expect(() => slice(a, 2, 0, 1)).toThrow(OpError);
      expect(() => stack([a, b])).toThrow(/stack: all tensors must have one shape/);
      expect(() => concat([gpu().fromArray([1], [1], 'int32'), a])).toThrow(/float32 tensors only/);
    });
  });
});
