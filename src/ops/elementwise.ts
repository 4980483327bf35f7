/**
 * Elementwise ops described once as data (webgpu-torch's op table): each row gives the WGSL op code, the CPU
 * reference and, for unary ops, the derivative that unary_backward.wgsl evaluates. Binary ops broadcast as
 * NumPy/PyTorch do and get their gradients composed from other elementwise ops plus `sumToShape`.
 */
import type { Engine } from '../runtime/engine.js';
import { engine as currentEngine } from '../runtime/global.js';
import { OpError, apply, backwardOnlyOp, type OpDef, type OpCase } from '../runtime/op.js';
import { Tensor, formatShape, numel } from '../runtime/tensor.js';
import { sumToShape } from './reduce.js';

// ---------------------------------------------------------------- unary

interface UnaryRow {
  code: number;
  cpu: (x: number, alpha: number) => number;
  /** Fill for the registry test (log/sqrt/pow need positive inputs). */
  fill?: 'positive';
}

/** Codes must match the switch in shaders/unary.wgsl and unary_backward.wgsl. */
export const unaryTable = {
  neg: { code: 0, cpu: (x) => -x },
  exp: { code: 1, cpu: (x) => Math.exp(x) },
  log: { code: 2, cpu: (x) => Math.log(x), fill: 'positive' },
  tanh: { code: 3, cpu: (x) => Math.tanh(x) },
  relu: { code: 4, cpu: (x) => Math.max(x, 0) },
  sigmoid: { code: 5, cpu: (x) => 1 / (1 + Math.exp(-x)) },
  square: { code: 6, cpu: (x) => x * x },
  sqrt: { code: 7, cpu: (x) => Math.sqrt(x), fill: 'positive' },
  add_scalar: { code: 8, cpu: (x, a) => x + a },
  mul_scalar: { code: 9, cpu: (x, a) => x * a },
  pow_scalar: { code: 10, cpu: (x, a) => Math.pow(x, a), fill: 'positive' },
  sin: { code: 11, cpu: (x) => Math.sin(x) },
  cos: { code: 12, cpu: (x) => Math.cos(x) },
} satisfies Record<string, UnaryRow>;

export type UnaryName = keyof typeof unaryTable;

export interface UnaryAttrs {
  op: UnaryName;
  alpha: number;
}

const unaryCases: OpCase<UnaryAttrs>[] = Object.entries(unaryTable).flatMap(([op, row]) =>
  [[1], [7, 13], [2, 1, 65]].map((shape) => ({
    name: op,
    inputs: [{ shape, fill: (row as UnaryRow).fill ?? ('normal' as const) }],
    attrs: { op: op as UnaryName, alpha: op === 'pow_scalar' ? 1.7 : -0.75 },
  })),
);

/** The plan of the flat elementwise ops: the element count. */
interface Flat {
  n: number;
}

export const unary: OpDef<UnaryAttrs, Flat> = {
  name: 'unary',
  shape: ([x]) => ({ outputs: [{ shape: x.shape }], plan: { n: numel(x.shape) } }),
  gpu(engine, [x], [y], { op, alpha }, { n }) {
    engine.dispatch('unary', {
      bindings: { x, y },
      params: { n, alpha },
      constants: { OP: unaryTable[op].code },
      threads: n,
    });
  },
  cpu([x], { op, alpha }) {
    const f = unaryTable[op].cpu;
    return [Float64Array.from(x.data, (v) => f(v, alpha))];
  },
  backward: ({ inputs: [x], outputs: [y], dy, attrs }) => [apply(unaryBackward, [x, y, dy], attrs)[0]],
  cases: unaryCases,
};

/** d/dx of each unary op, the CPU twin of unary_backward.wgsl; `y` is the forward output. */
const unaryDerivative: Record<UnaryName, (x: number, y: number, a: number) => number> = {
  neg: () => -1,
  exp: (_x, y) => y,
  log: (x) => 1 / x,
  tanh: (_x, y) => 1 - y * y,
  relu: (x) => (x > 0 ? 1 : 0),
  sigmoid: (_x, y) => y * (1 - y),
  square: (x) => 2 * x,
  sqrt: (_x, y) => 0.5 / y,
  add_scalar: () => 1,
  mul_scalar: (_x, _y, a) => a,
  pow_scalar: (x, _y, a) => a * Math.pow(x, a - 1),
  sin: (x) => Math.cos(x),
  cos: (x) => -Math.sin(x),
};

export const unaryBackward = backwardOnlyOp<UnaryAttrs, Flat>({
  name: 'unary_backward',
  shape: ([x, y, dy]) => {
    if (x.shape.join() !== dy.shape.join() || y.shape.join() !== x.shape.join())
      throw new OpError('unary_backward', 'x, y and dy must have one shape', [x.shape, y.shape, dy.shape]);
    return { outputs: [{ shape: x.shape }], plan: { n: numel(x.shape) } };
  },
  gpu(engine, [x, y, dy], [dx], { op, alpha }, { n }) {
    engine.dispatch('unary_backward', {
      bindings: { x, y, dy, dx },
      params: { n, alpha },
      constants: { OP: unaryTable[op].code },
      threads: n,
    });
  },
  cpu([x, y, dy], { op, alpha }) {
    const d = unaryDerivative[op];
    return [Float64Array.from(x.data, (v, i) => dy.data[i] * d(v, y.data[i], alpha))];
  },
});

function unaryOp(op: UnaryName) {
  return (x: Tensor, alpha = 0): Tensor => apply(unary, [x], { op, alpha })[0];
}

/** -x, elementwise. Shape preserved. */
export const neg = unaryOp('neg');
/** e^x, elementwise. */
export const exp = unaryOp('exp');
/** Natural logarithm, elementwise (NaN for x < 0, -Infinity at 0, as PyTorch). */
export const log = unaryOp('log');
/** Hyperbolic tangent, elementwise. */
export const tanh = unaryOp('tanh');
/** max(x, 0), elementwise; gradient 0 at x = 0 as in PyTorch. */
export const relu = unaryOp('relu');
/** 1 / (1 + e^-x), elementwise. */
export const sigmoid = unaryOp('sigmoid');
/** x², elementwise. */
export const square = unaryOp('square');
/** √x, elementwise. */
export const sqrt = unaryOp('sqrt');
/** sin x (radians), elementwise. */
export const sin = unaryOp('sin');
/** cos x (radians), elementwise. */
export const cos = unaryOp('cos');
/** x^alpha with a scalar exponent, like `torch.pow(x, alpha)`: NaN for x < 0 unless alpha is an integer. */
export function pow(x: Tensor, alpha: number): Tensor {
  return apply(unary, [x], { op: 'pow_scalar', alpha })[0];
}

// ---------------------------------------------------------------- binary

interface BinaryRow {
  code: number;
  cpu: (a: number, b: number) => number;
}

/** Codes must match the switch in shaders/binary.wgsl. */
export const binaryTable = {
  add: { code: 0, cpu: (a, b) => a + b },
  sub: { code: 1, cpu: (a, b) => a - b },
  mul: { code: 2, cpu: (a, b) => a * b },
  div: { code: 3, cpu: (a, b) => a / b },
  maximum: { code: 4, cpu: (a, b) => Math.max(a, b) },
  minimum: { code: 5, cpu: (a, b) => Math.min(a, b) },
  eq: { code: 6, cpu: (a, b) => (a === b ? 1 : 0) },
  gt: { code: 7, cpu: (a, b) => (a > b ? 1 : 0) },
  ge: { code: 8, cpu: (a, b) => (a >= b ? 1 : 0) },
  copy_a: { code: 9, cpu: (a) => a },
} satisfies Record<string, BinaryRow>;

export type BinaryName = keyof typeof binaryTable;

export interface BinaryAttrs {
  op: BinaryName;
  /** For `copy_a` (expand): the output shape; otherwise the broadcast of both shapes. */
  shape?: readonly number[];
}

/** NumPy broadcasting of two shapes; throws naming the op and both shapes when they are incompatible. */
export function broadcastShapes(op: string, a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1)
      throw new OpError(op, 'shapes cannot be broadcast together', [a, b]);
    out.push(da === 1 ? db : da);
  }
  return out;
}

/** Element strides of `shape` read as `out` (0 on broadcast dims). */
function broadcastStrides(shape: readonly number[], out: readonly number[]): number[] {
  const strides = new Array<number>(out.length).fill(0);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    const k = out.length - shape.length + i;
    strides[k] = shape[i] === 1 ? 0 : s;
    s *= shape[i];
  }
  return strides;
}

const MAX_RANK = 8;

function binaryShape(op: BinaryName, a: readonly number[], b: readonly number[], target?: readonly number[]) {
  const out = op === 'copy_a' ? [...target!] : broadcastShapes(op, a, b);
  if (op === 'copy_a' && broadcastShapes('expand', a, out).join() !== out.join())
    throw new OpError('expand', `cannot expand to ${formatShape(out)}`, [a]);
  if (out.length > MAX_RANK) throw new OpError(op, `rank above ${MAX_RANK} is not supported`, [a, b]);
  return out;
}

const binaryCases: OpCase<BinaryAttrs>[] = (
  ['add', 'sub', 'mul', 'div', 'maximum', 'minimum'] as const
).flatMap((op) =>
  [
    [
      [3, 5],
      [3, 5],
    ],
    [
      [2, 1, 7],
      [4, 1],
    ],
    [[1], [6, 3]],
    [
      [5, 1, 3, 1],
      [1, 2, 1, 4],
    ],
  ].map(([a, b]) => ({
    name: op,
    inputs: [
      { shape: a, fill: 'normal' as const },
      { shape: b, fill: op === 'div' ? ('positive' as const) : ('normal' as const) },
    ],
    attrs: { op },
  })),
);

/** The plan: the output shape, and each operand's element strides read as it (0 on broadcast dims). */
interface BinaryPlan {
  out: number[];
  sa: number[];
  sb: number[];
}

export const binary: OpDef<BinaryAttrs, BinaryPlan> = {
  name: 'binary',
  shape([a, b], { op, shape }) {
    const out = binaryShape(op, a.shape, b.shape, shape);
    return {
      outputs: [{ shape: out }],
      plan: { out, sa: broadcastStrides(a.shape, out), sb: broadcastStrides(b.shape, out) },
    };
  },
  gpu(engine, [a, b], [y], { op }, { out, sa, sb }) {
    const same = a.shape.join() === out.join() && b.shape.join() === out.join();
    const pad = (v: number[]) => [...v, ...new Array(MAX_RANK - v.length).fill(0)];
    const n = numel(out);
    engine.dispatch('binary', {
      bindings: { a, b, y },
      params: { n, rank: out.length, shape: pad(out), astride: pad(sa), bstride: pad(sb) },
      constants: { OP: binaryTable[op].code, BROADCAST: same ? 0 : 1 },
      threads: n,
    });
  },
  cpu([a, b], { op }, { out, sa, sb }) {
    const f = binaryTable[op].cpu;
    const y = new Float64Array(numel(out));
    for (let i = 0; i < y.length; i++) {
      let rest = i;
      let ia = 0;
      let ib = 0;
      for (let d = out.length - 1; d >= 0; d--) {
        const c = rest % out[d];
        rest = Math.floor(rest / out[d]);
        ia += c * sa[d];
        ib += c * sb[d];
      }
      y[i] = f(a.data[ia], b.data[ib]);
    }
    return [y];
  },
  backward({ inputs: [a, b], outputs: [y], dy, attrs: { op } }) {
    const toA = (g: Tensor) => sumToShape(g, a.shape);
    const toB = (g: Tensor) => sumToShape(g, b.shape);
    switch (op) {
      case 'add':
        return [toA(dy), toB(dy)];
      case 'sub':
        return [toA(dy), toB(neg(dy))];
      case 'mul':
        return [toA(mul(dy, b)), toB(mul(dy, a))];
      case 'div':
        return [toA(div(dy, b)), toB(neg(mul(dy, div(y, b))))];
      // Ties send the gradient to a, as torch.maximum/minimum do not split it evenly either way.
      case 'maximum':
        return [toA(mul(dy, compare('ge', a, b))), toB(mul(dy, compare('gt', b, a)))];
      case 'minimum':
        return [toA(mul(dy, compare('ge', b, a))), toB(mul(dy, compare('gt', a, b)))];
      case 'copy_a':
        return [toA(dy), null];
      default:
        // eq/gt/ge are step functions: zero gradient almost everywhere.
        return [null, null];
    }
  },
  cases: binaryCases,
};

type Operand = Tensor | number;

function binaryOp(op: 'add' | 'sub' | 'mul' | 'div' | 'maximum' | 'minimum') {
  return (a: Operand, b: Operand): Tensor => {
    if (typeof a === 'number' && typeof b === 'number')
      throw new Error(`${op}: at least one operand must be a tensor`);
    if (typeof b === 'number' && op !== 'maximum' && op !== 'minimum') {
      const t = a as Tensor;
      if (op === 'add') return apply(unary, [t], { op: 'add_scalar', alpha: b })[0];
      if (op === 'sub') return apply(unary, [t], { op: 'add_scalar', alpha: -b })[0];
      if (op === 'mul') return apply(unary, [t], { op: 'mul_scalar', alpha: b })[0];
      return apply(unary, [t], { op: 'mul_scalar', alpha: 1 / b })[0];
    }
    const ta = typeof a === 'number' ? scalarLike(a, b as Tensor) : a;
    const tb = typeof b === 'number' ? scalarLike(b, ta) : b;
    return apply(binary, [ta, tb], { op })[0];
  };
}

function scalarLike(v: number, like: Tensor): Tensor {
  return fill([], v, like.engine);
}

/** a + b with broadcasting (`torch.add`); either may be a number. */
export const add = binaryOp('add');
/** a − b with broadcasting; either may be a number. */
export const sub = binaryOp('sub');
/** a · b with broadcasting; either may be a number. */
export const mul = binaryOp('mul');
/** a / b with broadcasting; either may be a number. */
export const div = binaryOp('div');
/** Elementwise max with broadcasting (`torch.maximum`); ties route the gradient to `a`. */
export const maximum = binaryOp('maximum');
/** Elementwise min with broadcasting (`torch.minimum`); ties route the gradient to `a`. */
export const minimum = binaryOp('minimum');

/** 1 where the comparison holds, else 0, with broadcasting; not differentiable (step function). */
export function compare(op: 'eq' | 'gt' | 'ge', a: Tensor, b: Tensor): Tensor {
  return apply(binary, [a, b], { op })[0];
}

/** `x` broadcast to `shape` (a copy, like `x.expand(shape).contiguous()`); backward sums back. */
export function expand(x: Tensor, shape: readonly number[]): Tensor {
  if (x.shape.join() === shape.join()) return x;
  return apply(binary, [x, x], { op: 'copy_a', shape })[0];
}

// ---------------------------------------------------------------- constants

export const fillOp: OpDef<{ shape: readonly number[]; value: number }, Flat> = {
  name: 'fill',
  shape: (_inputs, { shape }) => ({ outputs: [{ shape }], plan: { n: numel(shape) } }),
  gpu(engine, _inputs, [y], { value }, { n }) {
    engine.dispatch('fill', {
      bindings: { y },
      params: { n, value },
      threads: n,
    });
  },
  cpu: (_inputs, { shape, value }) => [new Float64Array(numel(shape)).fill(value)],
  // A constant: nothing to differentiate.
  backward: null,
  cases: [],
};

/** A float32 tensor of `shape` filled with `value` (`torch.full`), on `engine` (default: the current one). */
export function fill(shape: readonly number[], value: number, engine: Engine = currentEngine()): Tensor {
  const y = engine.empty(shape);
  const attrs = { shape, value };
  // apply() finds the engine through the inputs and fill has none: dispatch directly, with the shape rule's plan.
  if (engine.backend === 'cpu') y.array.fill(value);
  else fillOp.gpu(engine, [], [y], attrs, fillOp.shape([], attrs).plan);
  return y;
}

/** `torch.zeros(shape)`. */
export const zeros = (shape: readonly number[]): Tensor => fill(shape, 0);
/** `torch.ones(shape)`. */
export const ones = (shape: readonly number[]): Tensor => fill(shape, 1);
