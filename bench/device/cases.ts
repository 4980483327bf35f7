/**
 * Size profiles: named case lists built from the same case factories as bench/cases, for runs where the default
 * sizes (chosen for a software adapter) say little. `device` is the GPU list that bench/device's pack runs on the
 * H200: matmul 1024²–8192² with transposes, attention forward and forward + backward at L 512–8192 with D 64 and
 * 128 and padding (valid lengths in [L/2, L]), and a Transformer and a seq2seq training step at width 256.
 *
 * Attention at these sizes is validated on sampled rows (sampled_attention.ts), and the number of heads shrinks as
 * L grows so that an unfused L × L score matrix (TF.js, jax-js, ours unfused) stays within 1 GiB per tensor.
 */
import { matmulCase } from '../cases/matmul.js';
import { sdpaCase } from '../cases/sdpa.js';
import { trainCase } from '../cases/train.js';
import { seq2seqStep, transformerStep } from '../cases/train_models.js';
import type { BenchCase } from '../harness/types.js';

export interface ProfileCase {
  case: BenchCase;
  /** Run order: lower first, so that a run that ends at its time budget has already covered every group. */
  priority: number;
}

export interface Profile {
  name: string;
  /** One line for `--help` and the results. */
  description: string;
  /** The cases in report order; `quick`: a few small ones (see QUICK). */
  cases(quick: boolean): ProfileCase[];
}

/** Heads (B·H) at length L: 32, fewer once B·H·L² fp32 scores would pass 1 GiB. */
export function deviceHeads(l: number): number {
  return Math.max(1, Math.min(32, Math.floor(2 ** 28 / (l * l))));
}

/**
 * `--quick`: a smoke test rather than the smallest GPU sizes, so that CI can run it on a software adapter in about
 * a minute: each group once at a small size (attention through the sampled check all the same), every library.
 */
const QUICK = {
  matmul: 256,
  attention: { l: 128, d: 64, heads: 2 },
  train: { batch: 64, numSteps: 10, hidden: 32 },
};

function deviceCases(quick: boolean): ProfileCase[] {
  const out: ProfileCase[] = [];
  const add = (c: BenchCase, priority: number) => out.push({ case: c, priority });
  const shape = (n: number, transA = false, transB = false) => ({ batch: 1, m: n, k: n, n, transA, transB });
  if (quick) {
    add(matmulCase({ ...shape(QUICK.matmul), kind: 'square', quick }), 0);
    add(matmulCase({ ...shape(QUICK.matmul, true, true), kind: 'transposed', quick }), 0);
  } else {
    for (const n of [1024, 2048, 4096, 8192]) add(matmulCase({ ...shape(n), kind: 'square', quick }), 0);
    for (const [transA, transB] of [
      [true, false],
      [false, true],
      [true, true],
    ])
      add(matmulCase({ ...shape(4096, transA, transB), kind: 'transposed', quick }), 0);
  }

  const train = quick ? { ...QUICK.train, quick } : { batch: 64, numSteps: 10, hidden: 256, quick };
  add(trainCase(transformerStep(train)), 1);
  add(trainCase(seq2seqStep(train)), 1);

  const { l: ql, d: qd, heads: qh } = QUICK.attention;
  for (const withBackward of [false, true])
    for (const l of quick ? [ql] : [512, 1024, 2048, 4096, 8192])
      for (const d of quick ? [qd] : [64, 128])
        // 512, 2048 and 8192 first; 1024 and 4096 fill in while the budget lasts.
        add(
          sdpaCase(l, d, withBackward, quick, { heads: quick ? qh : deviceHeads(l) }),
          l === 1024 || l === 4096 ? 3 : 2,
        );
  return out;
}

export const profiles: Record<string, Profile> = {
  device: {
    name: 'device',
    description:
      'GPU sizes: matmul 1024²–8192² and transposes, attention L 512–8192 × D 64/128 forward and forward + backward, Transformer and seq2seq training steps at width 256',
    cases: deviceCases,
  },
};

/** The named profile. @throws Error listing the profiles when there is none of that name. */
export function profile(name: string): Profile {
  const p = profiles[name];
  if (!p) throw new Error(`no size profile "${name}"; profiles: ${Object.keys(profiles).join(', ')}`);
  return p;
}

/** A profile's cases in run order (by priority, report order within one). */
export function runOrder(cases: ProfileCase[]): BenchCase[] {
  return cases
    .map((c, i) => ({ ...c, i }))
    .sort((a, b) => a.priority - b.priority || a.i - b.i)
    .map((c) => c.case);
}
