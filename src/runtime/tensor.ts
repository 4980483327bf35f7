/**
 * A tensor: an f32 or i32 array on a GPU storage buffer (or, on the CPU backend, in a typed array), with the
 * autograd fields of PyTorch (`requiresGrad`, `grad`) and explicit, deterministic freeing (`dispose`).
 */
import type { Backend, Engine } from './engine.js';
import { formatValues } from './format.js';

export type DType = 'float32' | 'int32';
export type TypedArray = Float32Array | Int32Array;

/** Reference-counted backing memory; `reshape` views share it. */
export class Storage {
  refs = 1;
  /**
   * The int32 values last uploaded from the host (WebGPU), kept so ops can validate labels and indices at call
   * time without a readback; null once a kernel may have written the buffer, or when too large to keep.
   */
  host: Int32Array | null = null;
  constructor(
    readonly engine: Engine,
    readonly bytes: number,
    public buffer: GPUBuffer | null,
    public array: TypedArray | null,
  ) {}

  release(): void {
    if (--this.refs > 0) return;
    if (this.buffer) this.engine.releaseBuffer(this.buffer);
    this.buffer = null;
    this.array = null;
    this.host = null;
  }
}

/** A recorded op on the autograd tape: how to turn the gradient of `outputs[0]` into gradients of `inputs`. */
export interface TapeNode {
  op: string;
  inputs: Tensor[];
  backward: (dy: Tensor) => (Tensor | null)[];
  /** Set once a `backward()` without `retainGraph` went through this node: going through it again throws. */
  consumed?: boolean;
}

let nextId = 0;

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function formatShape(shape: readonly number[]): string {
  return `(${shape.join(', ')}${shape.length === 1 ? ',' : ''})`;
}

export class Tensor {
  readonly id = nextId++;
  /** The element count, cached: it is read on every dispatch. */
  private readonly count: number;
  /** Whether gradients flow to this tensor; leaves with it set receive `.grad` from `backward()`. */
  requiresGrad = false;
  /** Accumulated gradient of a leaf, same shape; owned by this tensor and disposed with it. */
  grad: Tensor | null = null;
  /** The op that produced this tensor, when it was recorded for autograd. */
  creator: TapeNode | null = null;
  private storage: Storage | null;

  constructor(
    readonly engine: Engine,
    readonly shape: readonly number[],
    readonly dtype: DType,
    storage: Storage,
  ) {
    this.count = numel(shape);
    this.storage = storage;
    engine.track(this);
  }

  /** The number of elements, the product of the shape (1 for a scalar), like PyTorch's `numel()`. */
  numel(): number {
    return this.count;
  }

  /**
   * The shape, or the length of one dim (negative counts from the end), like PyTorch's `size()` / `size(dim)`.
   * @throws RangeError when `dim` is not an integer in [−rank, rank).
   */
  size(): readonly number[];
  size(dim: number): number;
  size(dim?: number): readonly number[] | number {
    if (dim === undefined) return this.shape;
    const rank = this.shape.length;
    if (!Number.isInteger(dim) || dim < -rank || dim >= rank)
      throw new RangeError(
        `size(${dim}): dim out of range for shape ${formatShape(this.shape)} (rank ${rank})`,
      );
    return this.shape[dim < 0 ? dim + rank : dim];
  }

  /** Where the values live, `'webgpu'` or `'cpu'` (the engine's backend), like PyTorch's `tensor.device`. */
  get device(): Backend {
    return this.engine.backend;
  }

  get disposed(): boolean {
    return this.storage === null;
  }

  private live(): Storage {
    if (!this.storage) throw new Error(`tensor #${this.id} ${formatShape(this.shape)} used after dispose()`);
    return this.storage;
  }

  /** The GPU buffer (WebGPU backend). */
  get buffer(): GPUBuffer {
    const b = this.live().buffer;
    if (!b) throw new Error(`tensor #${this.id} lives on the CPU backend, it has no GPU buffer`);
    return b;
  }

  /** The typed array (CPU backend). */
  get array(): TypedArray {
    const a = this.live().array;
    if (!a) throw new Error(`tensor #${this.id} lives on the GPU, read it with await data()`);
    return a;
  }

  /**
   * An int32 tensor's values as the host knows them without waiting for the GPU: the array itself on the CPU
   * backend, the uploaded values on WebGPU (`fromArray`), null for values computed on the GPU or for float32.
   */
  hostInts(): Int32Array | null {
    if (this.dtype !== 'int32') return null;
    const s = this.live();
    return s.array ? (s.array as Int32Array) : s.host;
  }

  /** @internal records the int32 values just uploaded (WebGPU); views and `assign` share them with the storage. */
  setHostInts(values: Int32Array | null): void {
    this.live().host = values;
  }

  /** Byte size actually used (the pooled buffer may be larger). */
  get bytes(): number {
    return this.numel() * 4;
  }

  /** @internal a new tensor sharing this storage (for views such as reshape). */
  share(shape: readonly number[]): Tensor {
    const s = this.live();
    s.refs++;
    return new Tensor(this.engine, shape, this.dtype, s);
  }

  /**
   * Replaces this tensor's contents with `other`'s (same shape and dtype) without a copy, the way
   * `tf.Variable.assign` does; `other` stays valid. Used by optimizers and running statistics.
   * @throws Error when shapes or dtypes differ.
   */
  assign(other: Tensor): void {
    if (other.dtype !== this.dtype || other.numel() !== this.numel())
      throw new Error(
        `assign: shape ${formatShape(other.shape)} ${other.dtype} does not match ${formatShape(this.shape)} ${this.dtype}`,
      );
    const s = other.live();
    s.refs++;
    this.live().release();
    this.storage = s;
  }

  /** Frees the memory (returned to the pool) and the gradient; further use throws. Idempotent. */
  dispose(): void {
    if (!this.storage) return;
    this.storage.release();
    this.storage = null;
    this.creator = null;
    this.grad?.dispose();
    this.grad = null;
    this.engine.untrack(this);
  }

  /** Exempts this tensor from the enclosing `tidy` scopes: the caller now owns it. */
  keep(): this {
    this.engine.untrack(this, true);
    return this;
  }

  /** Reads the values back (async on WebGPU: flushes pending work, copies, maps). */
  async data(): Promise<TypedArray> {
    return this.engine.read(this);
  }

  /** The single value of a one-element tensor. */
  async item(): Promise<number> {
    if (this.numel() !== 1)
      throw new Error(`item(): tensor has shape ${formatShape(this.shape)}, not one element`);
    return (await this.data())[0];
  }

  /** Nested arrays in the tensor's shape, like `tensor.tolist()` in PyTorch. */
  async toArray(): Promise<unknown> {
    const flat = Array.from(await this.data());
    const build = (dim: number, offset: number): unknown => {
      if (dim === this.shape.length) return flat[offset];
      const stride = numel(this.shape.slice(dim + 1));
      return Array.from({ length: this.shape[dim] }, (_, i) => build(dim + 1, offset + i * stride));
    };
    return build(0, 0);
  }

  /**
   * The values as PyTorch prints them, then shape, dtype and device, e.g.
   * `tensor([ 0.1000, -1.2000,  3.0000], shape=(3,), dtype=float32, device=webgpu)`: 4 decimals,
   * scientific notation for a wide range, `1.` for whole numbers, and only the first and last 3 entries of each dim
   * of a tensor with more than 1000 elements (`torch.set_printoptions` defaults). Reads the values back (async on
   * WebGPU, like `data()`); `toString()` and `console.log` show the metadata alone.
   * @throws Error when the tensor was disposed.
   */
  async format(): Promise<string> {
    return formatValues(await this.data(), this.shape, this.dtype, this.metadata());
  }

  /** Prints {@link Tensor.format} with `console.log`, like tf.js's `tensor.print()`. */
  async print(): Promise<void> {
    console.log(await this.format());
  }

  /** shape, dtype, device and the autograd flag, as `toString()` and {@link Tensor.format} end. */
  private metadata(): string[] {
    return [
      `shape=${formatShape(this.shape)}`,
      `dtype=${this.dtype}`,
      `device=${this.device}`,
      ...(this.requiresGrad ? ['requiresGrad=true'] : []),
    ];
  }

  /** `Tensor(shape=(2, 3), dtype=float32, device=webgpu)`: metadata only, no readback (see {@link Tensor.format}). */
  toString(): string {
    return `Tensor(${[...this.metadata(), ...(this.disposed ? ['disposed'] : [])].join(', ')})`;
  }

  /** What `console.log(tensor)` and `util.inspect` show in Node: {@link Tensor.toString}, not the engine's state. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}
