/**
 * Captured graphs (src/runtime/capture.ts): K replays of a captured Adam training step match K eager steps, replays
 * take new input data, memory stays flat over replays and returns to its baseline on dispose, and what cannot be
 * captured (readbacks, async steps, the CPU backend) fails with a clear error and leaves nothing pinned.
 */
import { describe, expect, it } from 'vitest';
import { Random } from '../src/data/random.js';
import { D2L_TRANSFORMER_CONFIG, buildTransformer } from '../src/models/transformer.js';
import { Linear } from '../src/nn/linear.js';
import { dropout } from '../src/ops/dropout.js';
import { add, mul, relu, square, sub, tanh } from '../src/ops/elementwise.js';
import { mean, sum } from '../src/ops/reduce.js';
import { Adam } from '../src/optim/adam.js';
import { clipGradNorm } from '../src/optim/clip.js';
import { backward } from '../src/ops/autograd.js';
import { maskedSoftmaxCELoss } from '../src/train/loss.js';
import { Engine } from '../src/runtime/engine.js';
import type { Tensor } from '../src/runtime/tensor.js';
import { useEngine } from './engine_fixture.js';
import { expectClose } from './helpers.js';

const engine = useEngine();

const N = 6;
const IN = 5;
const HIDDEN = 7;
const OUT = 3;
const K = 6;

/** A 2-layer MLP regressor with Adam; two built with the same seed start from the same weights. */
function mlp(seed: number) {
  const rng = new Random(seed);
  const l1 = new Linear(IN, HIDDEN, { rng });
  const l2 = new Linear(HIDDEN, OUT, { rng });
  const params = [...l1.parameters(), ...l2.parameters()];
  const opt = new Adam(params, { lr: 0.01, weightDecay: 1e-3 });
  /** zero_grad, forward, MSE, backward, clip, Adam: the loss (a scalar) is returned. */
  const step = (x: Tensor, t: Tensor): Tensor => {
    opt.zeroGrad();
    const y = l2.forward(tanh(l1.forward(x)));
    const loss = mean(square(sub(y, t)));
    backward(loss);
    clipGradNorm(params, 0.5).dispose();
    opt.step();
    return loss;
  };
  const dispose = () => {
    opt.zeroGrad();
    opt.dispose();
    for (const p of params) p.dispose();
  };
  return { params, opt, step, dispose };
}

function batches(count: number): { x: Float32Array; t: Float32Array }[] {
  const rng = new Random(11);
  const draw = (n: number) => Float32Array.from({ length: n }, () => rng.uniform() * 2 - 1);
  return Array.from({ length: count }, () => ({ x: draw(N * IN), t: draw(N * OUT) }));
}

describe('capture and replay', () => {
  it('K replays of a captured Adam step give the parameters of K eager steps', async () => {
    const data = batches(K + 1);
    const eager = mlp(5);
    const eagerLosses: number[] = [];
    for (const b of data) {
      const x = engine().fromArray(b.x, [N, IN]);
      const t = engine().fromArray(b.t, [N, OUT]);
      eagerLosses.push(await engine().tidyAsync(() => eager.step(x, t).item()));
      x.dispose();
      t.dispose();
    }

    const replayed = mlp(5);
    // Warm-up step, eager: Adam's moments are created on the first step, which a graph must not capture.
    const x0 = engine().fromArray(data[0].x, [N, IN]);
    const t0 = engine().fromArray(data[0].t, [N, OUT]);
    expect(await engine().tidyAsync(() => replayed.step(x0, t0).item())).toBeCloseTo(eagerLosses[0], 6);
    x0.dispose();
    t0.dispose();
    const x = engine().fromArray(data[1].x, [N, IN]);
    const t = engine().fromArray(data[1].t, [N, OUT]);
    const graph = engine().capture(() => replayed.step(x, t), {
      inputs: { x, t },
      optimizers: [replayed.opt],
    });
    expect(graph.dispatches).toBeGreaterThan(20);
    expect(await graph.result.item()).toBeCloseTo(eagerLosses[1], 5);
    for (let k = 2; k < K; k++) {
      if (k === 4) {
        // An eager step between replays re-assigns the parameters and moments: the next replay takes them over.
        const xe = engine().fromArray(data[k].x, [N, IN]);
        const te = engine().fromArray(data[k].t, [N, OUT]);
        expect(await engine().tidyAsync(() => replayed.step(xe, te).item())).toBeCloseTo(eagerLosses[k], 5);
        xe.dispose();
        te.dispose();
        continue;
      }
      // Eager work between replays: it must not be handed the graph's buffers (uniforms included).
      await engine().tidyAsync(() =>
        engine().noGrad(() => {
          let y = x;
          for (let i = 0; i < 200; i++) y = mul(tanh(y), 3);
          return y.data();
        }),
      );
      graph.replay({ x: data[k].x, t: data[k].t });
      expect(await graph.result.item()).toBeCloseTo(eagerLosses[k], 5);
    }
    expect(replayed.opt.stepCount).toBe(K);
    // An eager step after the replays continues from their parameters, moments and step count.
    graph.dispose();
    const xl = engine().fromArray(data[K].x, [N, IN]);
    const tl = engine().fromArray(data[K].t, [N, OUT]);
    expect(await engine().tidyAsync(() => replayed.step(xl, tl).item())).toBeCloseTo(eagerLosses[K], 5);
    for (let i = 0; i < eager.params.length; i++)
      expectClose(await replayed.params[i].data(), await eager.params[i].data(), { atol: 1e-5, rtol: 0 });
    for (const u of [x, t, xl, tl]) u.dispose();
    eager.dispose();
    replayed.dispose();
  });

  it('replays a Transformer training step (int32 batches, masks, clipping, Adam) as eager steps run it', async () => {
    const [b, t, srcV, tgtV] = [4, 5, 20, 22];
    const config = { ...D2L_TRANSFORMER_CONFIG, dropout: 0 };
    const yLens = [5, 3, 1, 4];
    const rng = new Random(4);
    const ids = (v: number) => Int32Array.from({ length: b * t }, () => 3 + rng.int(v - 3));
    const data = Array.from({ length: 4 }, () => ({
      X: ids(srcV),
      XValidLen: Int32Array.from({ length: b }, () => 1 + rng.int(t)),
      decX: ids(tgtV),
      Y: ids(tgtV),
    }));
    const build = () => {
      const model = buildTransformer(config, srcV, tgtV, new Random(8));
      const params = model.parameters();
      const opt = new Adam(params, { lr: 0.005 });
      const step = (X: Tensor, XValidLen: Tensor, decX: Tensor, Y: Tensor): Tensor => {
        opt.zeroGrad();
        const l = sum(maskedSoftmaxCELoss(model.forward(X, decX, XValidLen), Y, yLens));
        backward(l);
        clipGradNorm(params, 1).dispose();
        opt.step();
        return l;
      };
      return { model, params, opt, step };
    };
    const upload = (d: (typeof data)[number]) => [
      engine().fromArray(d.X, [b, t], 'int32'),
      engine().fromArray(d.XValidLen, [b], 'int32'),
      engine().fromArray(d.decX, [b, t], 'int32'),
      engine().fromArray(d.Y, [b, t], 'int32'),
    ];
    const eager = build();
    const eagerLosses: number[] = [];
    for (const d of data) {
      const inputs = upload(d);
      eagerLosses.push(
        await engine().tidyAsync(() => eager.step(...(inputs as [Tensor, Tensor, Tensor, Tensor])).item()),
      );
      inputs.forEach((u) => u.dispose());
    }
    const replayed = build();
    // Warm-up on data[0] (eager, creates Adam's moments), capture on data[1], replays on data[2..3].
    const warm = upload(data[0]);
    await engine().tidyAsync(() => replayed.step(...(warm as [Tensor, Tensor, Tensor, Tensor])).data());
    warm.forEach((u) => u.dispose());
    const [X, XValidLen, decX, Y] = upload(data[1]);
    const graph = engine().capture(() => replayed.step(X, XValidLen, decX, Y), {
      inputs: { X, XValidLen, decX, Y },
      optimizers: [replayed.opt],
    });
    expect(await graph.result.item()).toBeCloseTo(eagerLosses[1], 4);
    for (let k = 2; k < data.length; k++) {
      graph.replay(data[k]);
      expect(await graph.result.item()).toBeCloseTo(eagerLosses[k], 4);
    }
    expect(replayed.opt.stepCount).toBe(eager.opt.stepCount);
    for (let i = 0; i < eager.params.length; i++)
      expectClose(await replayed.params[i].data(), await eager.params[i].data(), { atol: 1e-5, rtol: 0 });
    graph.dispose();
    [X, XValidLen, decX, Y].forEach((u) => u.dispose());
    for (const m of [eager, replayed]) {
      m.opt.zeroGrad();
      m.opt.dispose();
    }
    eager.model.dispose();
    replayed.model.dispose();
  });

  it('uses the new input data of each replay, also with eager work queued before it', async () => {
    const x = engine().fromArray([1, 2, 3], [3]);
    const w = engine().fromArray([0.5, -1, 2], [3]);
    const graph = engine().capture(() => relu(add(mul(x, w), 1)), { inputs: { x } });
    expectClose(await graph.result.data(), [1.5, 0, 7], { atol: 0, rtol: 0 });
    let prev = [1, 2, 3];
    for (const v of [
      [2, 4, -1],
      [-6, -3, 0.25],
    ]) {
      // Eager work recorded but not submitted must still read x's previous contents.
      const before = mul(x, 1);
      graph.replay({ x: v });
      expectClose(await before.data(), prev, { atol: 0, rtol: 0 });
      prev = v;
      expectClose(
        await graph.result.data(),
        v.map((xi, i) => Math.max(0, xi * [0.5, -1, 2][i] + 1)),
        { atol: 1e-6, rtol: 0 },
      );
      before.dispose();
    }
    expect(() => graph.replay({ y: [1, 2, 3] })).toThrow(/unknown input "y"/);
    expect(() => graph.replay({ x: [1, 2] })).toThrow(/needs 3 values, got 2/);
    graph.dispose();
    expect(() => graph.replay()).toThrow(/disposed/);
    x.dispose();
    w.dispose();
  });

  it('keeps memory flat over replays and returns it to the baseline on dispose', async () => {
    const model = mlp(9);
    const [b0, b1] = batches(2);
    const x = engine().fromArray(b0.x, [N, IN]);
    const t = engine().fromArray(b0.t, [N, OUT]);
    await engine().tidyAsync(() => model.step(x, t).data());
    await engine().sync();
    const baseline = engine().memoryStats();
    const graph = engine().capture(() => model.step(x, t), { inputs: { x, t } });
    await engine().sync();
    const captured = engine().memoryStats();
    // The graph holds its intermediates and uniforms (no reuse inside the capture either).
    expect(captured.inUse).toBeGreaterThan(baseline.inUse + graph.dispatches);
    for (let i = 0; i < 50; i++) graph.replay(i % 2 ? { x: b1.x } : { x: b0.x });
    await engine().sync();
    const replayed = engine().memoryStats();
    expect(replayed.inUse).toBe(captured.inUse);
    expect(replayed.buffers).toBe(captured.buffers);
    expect(replayed.tensors).toBe(captured.tensors);
    graph.dispose();
    const after = engine().memoryStats();
    expect(after.inUse).toBe(baseline.inUse);
    expect(after.inUseBytes).toBe(baseline.inUseBytes);
    expect(after.tensors).toBe(baseline.tensors);
    // The unpinned buffers are reused: eager steps allocate nothing new.
    for (let i = 0; i < 3; i++) await engine().tidyAsync(() => model.step(x, t).data());
    expect(engine().memoryStats().buffers).toBe(after.buffers);
    x.dispose();
    t.dispose();
    model.dispose();
  });

  it('refuses readbacks, async steps and nesting with a clear error, leaving nothing pinned', async () => {
    const x = engine().fromArray([1, 2, 3, 4], [4]);
    await engine().sync();
    const baseline = engine().memoryStats();
    expect(() =>
      engine().capture(() => {
        const y = square(x);
        void y.data();
        return y;
      }),
    ).toThrow(/tensor #\d+ \(4,\) is read back inside the captured step/);
    expect(() => engine().capture(async () => square(x))).toThrow(/must be synchronous/);
    expect(() => engine().capture(() => engine().capture(() => square(x)))).toThrow(/captures do not nest/);
    expect(() =>
      engine().capture(() => {
        square(x);
        throw new Error('step failed');
      }),
    ).toThrow('step failed');
    const after = engine().memoryStats();
    expect(after.inUse).toBe(baseline.inUse);
    expect(after.tensors).toBe(baseline.tensors);
    // Eager readbacks work again after a refused capture.
    expectClose(await engine().tidyAsync(() => square(x).data()), [1, 4, 9, 16], { atol: 0, rtol: 0 });
    x.dispose();
  });

  it('replays the captured dropout mask (documented: seeds are frozen at capture)', async () => {
    const x = engine().fromArray(
      Array.from({ length: 64 }, (_, i) => i + 1),
      [64],
    );
    const graph = engine().capture(() => dropout(x, 0.5));
    const first = await graph.result.data();
    graph.replay();
    expectClose(await graph.result.data(), first, { atol: 0, rtol: 0 });
    expect(first.filter((v) => v === 0).length).toBeGreaterThan(10);
    graph.dispose();
    x.dispose();
  });

  it('is refused on the CPU backend', async () => {
    const cpu = await Engine.create('cpu');
    expect(() => cpu.capture(() => 0)).toThrow(/CPU backend/);
    cpu.destroy();
  });
});
