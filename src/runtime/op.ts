/**
 * How an op is declared (shape rule, GPU dispatch, CPU reference, backward and test cases together) and how
 * it is applied: one generic `apply` runs it on the engine's backend and records it on the autograd tape.
 */
import type { Engine } from './engine.js';
import { OpError } from './errors.js';
import { Tensor, formatShape, type DType } from './tensor.js';

export { OpError };

/** A tensor as the CPU references see it: row-major values, float64 for float inputs. */
export interface CpuTensor {
  shape: readonly number[];
  data: ArrayLike<number>;
  /** 'int32' for labels, indices and lengths; float32 when absent. */
  dtype?: DType;
}

export interface TensorMeta {
  shape: readonly number[];
  dtype: DType;
  /**
   * An int32 tensor's values where the host knows them without waiting for the GPU (always on the CPU backend;
   * on WebGPU for tensors uploaded with `fromArray`), so shape rules can check labels and indices at call time.
   */
  host?: Int32Array | null;
}

export interface OutSpec {
  shape: readonly number[];
  dtype?: DType;
}

/**
 * What a shape rule returns: the outputs, and the op's plan (the dimensions it derived from the inputs and
 * attributes), which `gpu`, `cpu` and `backward` receive instead of deriving them again.
 */
export interface Shaped<P> {
  outputs: OutSpec[];
  plan: P;
}

/** How the generic registry test fills an input. */
export type Fill =
  | 'normal'
  | 'positive'
  /** integers in [0, n): labels, valid lengths */
  | { int: number }
  | { values: number[] };

export interface InputSpec {
  shape: number[];
  dtype?: DType;
  fill?: Fill;
  /** false: not differentiated in the finite-difference check (e.g. running statistics). */
  grad?: boolean;
}

export interface OpCase<A> {
  name?: string;
  inputs: InputSpec[];
  attrs: A;
  /** Skip the (slow, O(size²)) finite-difference check, e.g. for a 1000×1000 matmul. */
  noGradCheck?: boolean;
}

export interface BackwardArgs<A, P = unknown> {
  inputs: Tensor[];
  outputs: Tensor[];
  dy: Tensor;
  attrs: A;
  plan: P;
}

/** An op with attributes `A` whose shape rule derives the plan `P`. */
export interface OpDef<A, P = unknown> {
  /** snake_case, as the WGSL file and the op file are named. */
  name: string;
  /**
   * Output shapes and dtypes, and the plan the other members receive; throws an {@link OpError} naming the op and
   * the shapes on bad input.
   */
  shape(inputs: readonly TensorMeta[], attrs: A): Shaped<P>;
  /** Records the dispatches that compute `outputs` from `inputs` on WebGPU. */
  gpu(engine: Engine, inputs: Tensor[], outputs: Tensor[], attrs: A, plan: P): void;
  /** Independent CPU reference, accumulating in float64; one array per output. */
  cpu(inputs: CpuTensor[], attrs: A, plan: P): ArrayLike<number>[];
  /** Gradients of the inputs from the gradient of `outputs[0]`; null for a non-differentiable op (say why). */
  backward: ((args: BackwardArgs<A, P>) => (Tensor | null)[]) | null;
  /** Shapes for the generic registry test: awkward sizes, 1-sized dims, masked rows. */
  cases: OpCase<A>[];
}

/** An OpDef of any attribute and plan type, for tables of ops. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyOpDef = OpDef<any, any>;

/**
 * An op that computes the gradients of a forward op's inputs: run only by that op's `backward`, so checked by the
 * forward op's gradient check (no cases of its own), and not differentiated again (second derivatives are not
 * needed by any model here).
 */
export function backwardOnlyOp<A, P>(def: Omit<OpDef<A, P>, 'backward' | 'cases'>): OpDef<A, P> {
  return { ...def, backward: null, cases: [] };
}

/** A CPU tensor's metadata for a shape rule; int32 values double as the host copy that rules check. */
function cpuMeta(t: CpuTensor): TensorMeta {
  const dtype = t.dtype ?? 'float32';
  return { shape: t.shape, dtype, host: dtype === 'int32' ? Int32Array.from(t.data) : null };
}

/**
 * `def`'s float64 CPU reference on `inputs`, its plan derived by its shape rule (what `apply` runs on the CPU
 * backend); for tests and checks that call a reference directly.
 */
export function runReference<A, P>(
  def: OpDef<A, P>,
  inputs: CpuTensor[],
  attrs: NoInfer<A>,
): ArrayLike<number>[] {
  return def.cpu(inputs, attrs, def.shape(inputs.map(cpuMeta), attrs).plan);
}

/**
 * Runs `def` on the inputs' engine and, when gradients are enabled and an input requires one, records the
 * node on the tape. Returns every output; `outputs[0]` is the differentiable one.
 */
export function apply<A, P>(def: OpDef<A, P>, inputs: Tensor[], attrs: NoInfer<A>): Tensor[] {
  const engine = inputs[0].engine;
  engine.checkLost();
  for (const t of inputs) {
    if (t.disposed)
      throw new Error(`${def.name}: input tensor #${t.id} ${formatShape(t.shape)} used after dispose()`);
    if (t.engine !== engine) throw new Error(`${def.name}: inputs live on different engines`);
  }
  const { outputs: specs, plan } = def.shape(
    inputs.map((t) => ({ shape: t.shape, dtype: t.dtype, host: t.dtype === 'int32' ? t.hostInts() : null })),
    attrs,
  );
  const outputs = specs.map((s) => engine.empty(s.shape, s.dtype ?? 'float32'));
  if (engine.backend === 'cpu') {
    const results = def.cpu(
      inputs.map((t) => ({
        shape: t.shape,
        dtype: t.dtype,
        data: t.dtype === 'int32' ? t.array : Float64Array.from(t.array),
      })),
      attrs,
      plan,
    );
    results.forEach((r, i) => outputs[i].array.set(r));
  } else {
    def.gpu(engine, inputs, outputs, attrs, plan);
  }
  if (def.backward && engine.gradEnabled && inputs.some((t) => t.requiresGrad)) {
    const backward = def.backward;
    const out = outputs[0];
    out.requiresGrad = true;
    out.creator = { op: def.name, inputs, backward: (dy) => backward({ inputs, outputs, dy, attrs, plan }) };
  }
  return outputs;
}

/** Throws an {@link OpError} unless the two shapes are equal. */
export function expectSameShape(op: string, a: readonly number[], b: readonly number[]): void {
  if (a.length !== b.length || a.some((d, i) => d !== b[i]))
    throw new OpError(op, 'shapes must be equal', [a, b]);
}
