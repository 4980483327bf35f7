/**
 * Fused (FlashAttention-2 kernels) vs unfused (matmul → maskedSoftmax → dropout → matmul) scaled dot-product
 * attention, forward and forward + backward, B·H = 32, L = S ∈ {64, 128, 256, 512}, D ∈ {32, 64}.
 * Run: `npx vite-node bench/attention.bench.ts [--quick] [--dropout 0.1] [--runs 7]` (--quick: L ≤ 128).
 * Every size is first validated (fused vs unfused output and all three gradients, and once the fused op against
 * its float64 CPU reference); a mismatch aborts before anything is timed. The two paths are then timed interleaved
 * in one process (warm-up, then `runs` runs each, median), each run bracketed by `await engine.sync()`.
 */
import { Random } from '../src/data/random.js';
import { scaledDotProductAttention, sdpaForward, type SdpaOptions } from '../src/ops/attention.js';
import { backward } from '../src/runtime/autograd.js';
import { init } from '../src/runtime/global.js';
import type { Tensor } from '../src/runtime/tensor.js';

const argv = process.argv.slice(2);
const flag = (name: string, fallback: number) => {
  const i = argv.indexOf(name);
  return i >= 0 ? Number(argv[i + 1]) : fallback;
};
const quick = argv.includes('--quick');
const p = flag('--dropout', 0);
const runs = Math.max(7, flag('--runs', 7));
const BH = 32;
const lengths = quick ? [64, 128] : [64, 128, 256, 512];
const dims = [32, 64];

const engine = await init('webgpu');
const rng = new Random(2024);

function randomTensor(shape: number[]): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const t = engine.fromArray(
    Array.from({ length: n }, () => rng.normal()),
    shape,
  );
  t.requiresGrad = true;
  return t;
}

function abort(message: string): never {
  console.error(`\nVALIDATION FAILED: ${message}\n`);
  engine.destroy();
  process.exit(1);
}

/** max |a − b| / (1 + max |b|). */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let err = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    err = Math.max(err, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return err / (1 + scale);
}

/** Output and gradients of sum(output ∘ dy) for q, k, v. */
async function run(q: Tensor, k: Tensor, v: Tensor, dy: Tensor, opts: SdpaOptions) {
  for (const t of [q, k, v]) {
    t.grad?.dispose();
    t.grad = null;
  }
  return engine.tidyAsync(async () => {
    const { output } = scaledDotProductAttention(q, k, v, opts);
    backward(output, dy);
    return Promise.all([output.data(), q.grad!.data(), k.grad!.data(), v.grad!.data()]);
  });
}

async function validateAgainstCpu(): Promise<void> {
  const [b, l, d] = [2, 33, 20];
  const seed = 99;
  const q = randomTensor([b, l, d]);
  const k = randomTensor([b, l, d]);
  const v = randomTensor([b, l, d]);
  const o = await engine.tidyAsync(() =>
    scaledDotProductAttention(q, k, v, { dropout: p, seed, causal: true, validLens: [20, 0] }).output.data(),
  );
  const cpu = sdpaForward.cpu(
    await Promise.all(
      [q, k, v].map(async (t) => ({ shape: t.shape, data: Float64Array.from(await t.data()) })),
    ).then((ts) => [...ts, { shape: [b], data: [20, 0] }]),
    { causal: true, scale: 1 / Math.sqrt(d), p, seed },
  )[0];
  const err = relErr(o, cpu);
  if (!(err < 1e-5)) abort(`fused output vs float64 CPU reference: relative error ${err}`);
  [q, k, v].forEach((t) => t.dispose());
}

async function validate(q: Tensor, k: Tensor, v: Tensor, dy: Tensor, what: string): Promise<void> {
  const seed = 7;
  const fused = await run(q, k, v, dy, { dropout: p, seed });
  const unfused = await run(q, k, v, dy, { dropout: p, seed, fused: false });
  ['output', 'dq', 'dk', 'dv'].forEach((name, i) => {
    const err = relErr(fused[i], unfused[i]);
    if (!(err < 1e-4)) abort(`${what}: fused ${name} differs from unfused by ${err} (relative)`);
  });
}

async function time(fn: () => void): Promise<number> {
  await engine.sync();
  const t0 = performance.now();
  engine.tidy(fn);
  await engine.sync();
  return performance.now() - t0;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

await validateAgainstCpu();
const rows: string[] = [];
for (const l of lengths)
  for (const d of dims) {
    const what = `B·H = ${BH}, L = S = ${l}, D = ${d}`;
    const [q, k, v, dy] = [0, 1, 2, 3].map(() => randomTensor([BH, l, d]));
    dy.requiresGrad = false;
    await validate(q, k, v, dy, what);
    const forward = (fused: boolean) => () => {
      engine.noGrad(() => scaledDotProductAttention(q, k, v, { dropout: p, fused }));
    };
    const both = (fused: boolean) => () => {
      for (const t of [q, k, v]) {
        t.grad?.dispose();
        t.grad = null;
      }
      backward(scaledDotProductAttention(q, k, v, { dropout: p, fused }).output, dy);
    };
    const t = { ff: [] as number[], fu: [] as number[], bf: [] as number[], bu: [] as number[] };
    for (let r = -2; r < runs; r++) {
      // Alternate which path goes first, so neither always runs on a warmer cache.
      const order = r % 2 === 0 ? [true, false] : [false, true];
      for (const fused of order) {
        const f = await time(forward(fused));
        const b = await time(both(fused));
        if (r < 0) continue;
        (fused ? t.ff : t.fu).push(f);
        (fused ? t.bf : t.bu).push(b);
      }
    }
    const [ff, fu, bf, bu] = [t.ff, t.fu, t.bf, t.bu].map(median);
    rows.push(
      `| ${l} | ${d} | ${ff.toFixed(1)} | ${fu.toFixed(1)} | ${(fu / ff).toFixed(2)} | ${bf.toFixed(1)} | ${bu.toFixed(1)} | ${(bu / bf).toFixed(2)} |`,
    );
    console.error(`${what}: done`);
    [q, k, v, dy].forEach((x) => x.dispose());
  }

console.log(
  `\n${engine.adapter && 'device' in engine.adapter ? engine.adapter.device : 'cpu'}, B·H = ${BH}, dropout ${p}, median of ${runs} runs (ms)\n`,
);
console.log(
  '| L = S | D | fwd fused | fwd unfused | unfused/fused | fwd+bwd fused | fwd+bwd unfused | unfused/fused |',
);
console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
rows.forEach((r) => console.log(r));
engine.destroy();
