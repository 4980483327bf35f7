/**
 * The engine: one device (WebGPU or the CPU reference), its buffer pool and kernels, the queue of recorded
 * dispatches, `tidy` scopes and the autograd switch. Ops record dispatch nodes; nothing is submitted until
 * a readback or an explicit `flush()`, so a training step goes to the GPU as one command buffer.
 */
import { captureGraph, type CaptureOptions, type CaptureRecorder, type CapturedGraph } from './capture.js';
import { DispatchQueue, type DispatchSpec } from './dispatch_queue.js';
import { requestGpu, type AdapterReport, type Gpu, type GpuOptions } from './device.js';
import { DeviceLoss } from './device_loss.js';
import { GpuError } from './errors.js';
import { GpuErrorScopes } from './gpu_errors.js';
import { Kernel } from './kernel.js';
import { pick, type AdapterProfile, type KernelSet, type PerSet } from './kernel_set.js';
import { BufferPool, type PoolStats } from './pool.js';
import { checkInt32 } from './int32.js';
import { Scopes } from './scopes.js';
import { Readback } from './readback.js';
import type { TextureSize } from './scratch_textures.js';
import { shaderSources } from './shaders.js';
import { Storage, Tensor, formatShape, numel, type DType, type TypedArray } from './tensor.js';

export type Backend = 'webgpu' | 'cpu';
export type { DispatchNode, DispatchSpec, TextureCopy, Work } from './dispatch_queue.js';

export interface MemoryStats extends PoolStats {
  /** Tensors created and not disposed. */
  tensors: number;
  /**
   * Bytes of the scratch textures operands are copied into (matmul_texture on lavapipe): each grows to the largest
   * product it served and is kept for the next one until `pool.trim()` or `destroy()`.
   */
  textureBytes: number;
}

/** Submit after this many recorded dispatches so a long graph does not hold every uniform buffer. */
const MAX_PENDING = 4096;
const STORAGE = 0x80 | 0x4 | 0x8; // STORAGE | COPY_SRC | COPY_DST, without needing the GPUBufferUsage global
/** int32 uploads up to this many elements keep a host copy for call-time validation (labels, indices, lengths). */
const HOST_COPY_MAX = 1 << 20;

export class Engine {
  readonly pool: BufferPool | null;
  private readonly kernels = new Map<string, Kernel>();
  private readonly scopes = new Scopes();
  private readonly live = new Set<Tensor>();
  /** @internal the error scopes over the engine's device calls (null on the CPU backend). */
  readonly gpuErrors: GpuErrorScopes | null;
  /** Readbacks and the device-side check flags (null on the CPU backend). */
  private readonly readback: Readback | null;
  /** The recorded dispatches not submitted yet (null on the CPU backend). */
  private readonly queue: DispatchQueue | null;
  /** Set when the device is lost or the engine destroyed: every later op throws a {@link DeviceLostError}. */
  private readonly loss: DeviceLoss;
  private destroyed = false;
  /** Whether ops record the autograd tape (false inside {@link Engine.noGrad}). */
  gradEnabled = true;
  /** Dispatches submitted since creation (for dispatch-overhead accounting). */
  get dispatchCount(): number {
    return this.queue?.submitted ?? 0;
  }

  set dispatchCount(n: number) {
    if (this.queue) this.queue.submitted = n;
  }
  /** @internal set while {@link Engine.capture} runs its function. */
  recorder: CaptureRecorder | null = null;

  private constructor(
    readonly backend: Backend,
    readonly gpu: Gpu | null,
  ) {
    this.pool = gpu ? new BufferPool(gpu.device, gpu.report.limits.maxBufferSize) : null;
    this.gpuErrors = gpu ? new GpuErrorScopes(gpu.device) : null;
    this.loss = new DeviceLoss(gpu?.device ?? null);
    this.queue = gpu ? new DispatchQueue(gpu.device, this.pool!, this.gpuErrors!) : null;
    this.readback = gpu
      ? new Readback({
          device: gpu.device,
          pool: this.pool!,
          gpuErrors: this.gpuErrors!,
          whenLost: this.loss.whenLost,
          flush: () => this.flush(),
          checkLost: () => this.checkLost(),
          lostAfterFailure: () => this.loss.afterFailure(),
          releaseBuffer: (buf) => this.releaseBuffer(buf),
        })
      : null;
  }

  /**
   * Creates an engine on WebGPU (browser or Node/Dawn) or on the CPU reference. `options` choose the device's
   * limits and the kernel set (WebGPU only).
   */
  static async create(backend: Backend = 'webgpu', options: GpuOptions = {}): Promise<Engine> {
    return new Engine(backend, backend === 'webgpu' ? await requestGpu(options) : null);
  }

  get adapter(): AdapterReport | { runtime: 'cpu' } {
    return this.gpu?.report ?? { runtime: 'cpu' };
  }

  /** What dispatches choose kernels by (src/runtime/kernel_set.ts). @throws Error on the CPU backend. */
  get profile(): AdapterProfile {
    if (!this.gpu) throw new Error('the CPU backend has no adapter profile');
    const report = this.gpu.report;
    return {
      kernels: report.kernels,
      software: report.software,
      subgroups: this.gpu.device.features.has('subgroups'),
      limits: report.limits,
    };
  }

  /** The entry of `variants` for the kernel set this device runs. */
  pick<T>(variants: PerSet<T>): T {
    return pick(this.profile, variants);
  }

  /**
   * Switches the kernel set of this device (tests and the bench run both sets on one device). Takes effect for
   * the dispatches recorded from now on.
   */
  setKernels(kernels: KernelSet): void {
    if (!this.gpu) throw new Error('setKernels: the CPU backend has no kernel sets');
    if (kernels !== 'software' && kernels !== 'hardware')
      throw new Error(`setKernels: expected 'software' or 'hardware', got ${String(kernels)}`);
    this.gpu.report.kernels = kernels;
  }

  get device(): GPUDevice {
    if (!this.gpu) throw new Error('the CPU backend has no GPUDevice');
    this.checkLost();
    return this.gpu.device;
  }

  /** Whether the device was lost or the engine destroyed ({@link DeviceLostError}). */
  get isLost(): boolean {
    return this.loss.isLost;
  }

  /** @internal throws the {@link DeviceLostError} once the device is lost or the engine destroyed. */
  checkLost(): void {
    this.loss.check();
  }

  kernel(name: string): Kernel {
    let k = this.kernels.get(name);
    if (!k) this.kernels.set(name, (k = new Kernel(name, this.device)));
    return k;
  }

  /**
   * The kernels in `shaders/` this device can compile: those whose `enable` directives name features it has and
   * whose `requires` directives name WGSL language features it knows.
   */
  supportedKernels(): string[] {
    // Every name listed by every `directive` line of `source` is in `known`.
    const listed = (source: string, directive: string, known: ReadonlySet<string> | undefined) =>
      [...source.matchAll(new RegExp(`^\\s*${directive}\\s+([\\w\\s,]+);`, 'gm'))].every((m) =>
        m[1].split(',').every((f) => !!known?.has(f.trim())),
      );
    const language = this.gpu?.instance.wgslLanguageFeatures;
    return Object.entries(shaderSources)
      .filter(
        ([, source]) =>
          listed(source, 'enable', this.device.features) && listed(source, 'requires', language),
      )
      .map(([name]) => name);
  }

  /**
   * Compiles kernels (by default every one the device supports) in parallel and throws with WGSL line numbers if
   * any fails. Optional: kernels also compile on first use.
   */
  async compileAll(names: string[] = this.gpu ? this.supportedKernels() : []): Promise<void> {
    if (!this.gpu) return;
    const kernels = this.gpuErrors!.around('while compiling kernels', () => names.map((n) => this.kernel(n)));
    const errors = await Promise.all(kernels.map((k) => k.diagnostics()));
    const msg = errors.filter(Boolean).join('\n');
    if (msg) {
      // The same failures as GPU validation errors: reported here, with line numbers, so not again later.
      await this.gpuErrors!.take();
      throw new Error(`WGSL compile errors:\n${msg}`);
    }
    await Promise.all(names.map((n) => this.kernel(n).pipelineAsync()));
  }

  // ---- tensors and memory ----

  /** @internal */
  track(t: Tensor): void {
    this.live.add(t);
    this.scopes.add(t);
  }

  /** @internal `keepOnly` removes it from scopes but keeps it counted as live. */
  untrack(t: Tensor, keepOnly = false): void {
    if (!keepOnly) this.live.delete(t);
    this.scopes.remove(t);
  }

  /** @internal */
  releaseBuffer(buf: GPUBuffer): void {
    // After destroy() the pool and its buffers are gone; a lost device's buffers are dead but still the pool's.
    if (this.destroyed) return;
    // Safe to hand out again at once: a later dispatch is ordered after the pending ones, and uploads
    // (queue.writeBuffer, which jumps ahead of unsubmitted work) flush first.
    this.pool!.release(buf);
  }

  /**
   * An uninitialised tensor (contents are whatever the pooled buffer held).
   * @throws Error for a dim that is not an integer >= 0; {@link GpuError} of kind `'limit'` naming the shape, the
   *   bytes and the limit when the tensor is larger than the device's `maxBufferSize` or
   *   `maxStorageBufferBindingSize` (kernels bind every tensor whole); RangeError when the CPU backend cannot
   *   allocate it.
   */
  empty(shape: readonly number[], dtype: DType = 'float32'): Tensor {
    this.checkLost();
    for (const d of shape)
      if (!Number.isInteger(d) || d < 0)
        throw new Error(`invalid shape ${formatShape(shape)}: dims must be integers >= 0`);
    const n = numel(shape);
    const bytes = Math.max(4, n * 4);
    if (this.gpu) this.checkSize(shape, dtype, bytes);
    let storage: Storage;
    if (this.pool) {
      this.gpuErrors!.enter();
      storage = new Storage(this, bytes, this.pool.acquire(bytes, STORAGE), null);
    } else {
      let array: TypedArray;
      try {
        array = dtype === 'int32' ? new Int32Array(n) : new Float32Array(n);
      } catch (e) {
        throw new RangeError(
          `tensor ${formatShape(shape)} ${dtype}: the CPU backend cannot allocate ${n * 4} bytes (${String(e)})`,
          { cause: e },
        );
      }
      storage = new Storage(this, bytes, null, array);
    }
    return new Tensor(this, shape, dtype, storage);
  }

  /** Throws a `'limit'` {@link GpuError} when a tensor of `bytes` would not fit one buffer binding. */
  private checkSize(shape: readonly number[], dtype: DType, bytes: number): void {
    const limits = this.gpu!.report.limits;
    const [name, limit] =
      limits.maxStorageBufferBindingSize <= limits.maxBufferSize
        ? ['maxStorageBufferBindingSize', limits.maxStorageBufferBindingSize]
        : ['maxBufferSize', limits.maxBufferSize];
    if (bytes <= limit) return;
    const fmt = (b: number) => b.toLocaleString('en-US');
    throw new GpuError(
      'limit',
      `the tensor needs ${fmt(bytes)} bytes, more than this device's ${name} of ${fmt(limit)} bytes (every ` +
        'kernel binds a tensor whole). Split the work into smaller tensors (e.g. along the batch), or use a ' +
        "device with higher limits (init() asks for the adapter's own limits unless given limits: 'default')",
      `creating tensor ${formatShape(shape)} ${dtype}`,
    );
  }

  /**
   * A tensor holding `values` (row-major), uploaded to the device. An int32 upload keeps a host copy of its values
   * (up to 2²⁰ of them), so that ops check labels, indices and lengths at call time without a readback.
   * @throws Error when the values do not fill `shape`; `OpError` (op `tensor`) for an int32 value that is not
   *   an integer in [−2³¹, 2³¹) — NaN, 1.5 or 3e9 would otherwise be truncated or wrap silently; see
   *   {@link Engine.empty} for sizes.
   */
  fromArray(values: ArrayLike<number>, shape: readonly number[], dtype: DType = 'float32'): Tensor {
    const n = numel(shape);
    if (values.length !== n)
      throw new Error(
        `tensor: ${values.length} values do not fill shape ${formatShape(shape)} (${n} elements)`,
      );
    if (dtype === 'int32') checkInt32('tensor', values, shape);
    const t = this.empty(shape, dtype);
    const typed = dtype === 'int32' ? Int32Array.from(values) : Float32Array.from(values);
    if (!this.pool) {
      t.array.set(typed);
    } else if (n > 0) {
      // writeBuffer runs before unsubmitted dispatches; submit them first so a recycled buffer
      // is not overwritten before its previous readers ran.
      this.flush();
      this.gpuErrors!.enter();
      this.device.queue.writeBuffer(t.buffer, 0, typed);
      if (dtype === 'int32' && n <= HOST_COPY_MAX) t.setHostInts(typed as Int32Array);
    }
    return t;
  }

  /**
   * Live tensors and pooled buffers. Submits recorded work first, so uniform buffers waiting for their submit
   * are not counted as in use.
   */
  memoryStats(): MemoryStats {
    this.flush();
    const pool = this.pool?.stats() ?? { buffers: 0, bytes: 0, inUse: 0, inUseBytes: 0, peakBytes: 0 };
    return { ...pool, tensors: this.live.size, textureBytes: this.queue?.textures.bytes ?? 0 };
  }

  /**
   * Runs `fn` and disposes every tensor it created, except those it returns (a Tensor, or Tensors inside a
   * returned array/object) and those `keep()`-ed. In the spirit of `tf.tidy`. When `fn` throws, everything it
   * created is disposed before the error propagates, so a failed step leaks nothing.
   * @throws TypeError when `fn` returns a promise (use {@link Engine.tidyAsync}).
   */
  tidy<T>(fn: () => T): T {
    return this.scopes.tidy(fn);
  }

  /**
   * `tidy` for async work (reading results back inside): the scope stays open until `fn` settles, so every
   * tensor created meanwhile belongs to it. Do not run other tensor work concurrently with it.
   */
  tidyAsync<T>(fn: () => Promise<T>): Promise<T> {
    return this.scopes.tidyAsync(fn);
  }

  /** Runs `fn` without recording the autograd tape (evaluation, optimizer updates). */
  noGrad<T>(fn: () => T): T {
    const prev = this.gradEnabled;
    this.gradEnabled = false;
    try {
      return fn();
    } finally {
      this.gradEnabled = prev;
    }
  }

  // ---- dispatch ----

  /**
   * Records one launch of `shaders/<kernel>.wgsl`. Bindings are checked against the reflected layout.
   * @throws Error naming the kernel and binding when a binding is missing, unknown or disposed.
   */
  dispatch(kernelName: string, spec: DispatchSpec): void {
    this.checkLost();
    this.gpuErrors?.enter(kernelName);
    const kernel = this.kernel(kernelName);
    // A replay encodes only the dispatches (src/runtime/capture.ts); ops ask `capturing` and take a copy-free kernel.
    if (this.recorder && spec.copies?.length)
      throw new Error(`${kernelName}: a captured graph cannot replay texture copies`);
    const recorded = this.queue!.record(kernel, spec, () => this.readback!.flagBinding());
    if (!recorded) return;
    this.recorder?.record(recorded.node, kernel, recorded.entries, recorded.ub, spec.stepParams);
    if (this.queue!.length >= MAX_PENDING) this.flush();
  }

  /** WebGPU's `maxComputeWorkgroupsPerDimension` on this device. */
  get maxWorkgroups(): number {
    return this.queue!.maxWorkgroups;
  }

  /** Whether a graph capture is recording (its replays run dispatches only, no texture copies). */
  get capturing(): boolean {
    return this.recorder !== null;
  }

  /**
   * @internal a scratch `rgba32float` storage texture of at least `size` (texels, rows, layers) for `slot`, reused by
   * later dispatches (src/runtime/scratch_textures.ts).
   */
  scratchTexture(slot: string, size: TextureSize): GPUTexture {
    return this.queue!.textures.get(slot, size);
  }

  /** @internal a captured graph whose kernels check values was replayed: read the flags at the next readback. */
  armFlags(): void {
    this.readback?.arm();
  }

  /** Encodes every recorded dispatch into one compute pass and submits it. Does not wait. */
  flush(): void {
    if (!this.queue) return;
    // Nothing recorded can run on a lost device; the op that recorded it already returned, the next one throws.
    if (this.loss.isLost) this.queue.discard();
    else this.queue.submit();
  }

  /** @internal reads a tensor back; throws validation errors raised by earlier submits, or inside a capture. */
  read(t: Tensor): Promise<TypedArray> {
    const lost = this.loss.error();
    if (lost) return Promise.reject(lost);
    return this.recorder ? this.recorder.refuseReadback(t) : this.readBack(t);
  }

  private async readBack(t: Tensor): Promise<TypedArray> {
    if (!this.gpu) return t.dtype === 'int32' ? Int32Array.from(t.array) : Float32Array.from(t.array);
    this.checkLost();
    const Typed = t.dtype === 'int32' ? Int32Array : Float32Array;
    const bytes = await this.readback!.read(
      t.numel() > 0 ? t.buffer : null,
      t.numel() * 4,
      `tensor #${t.id} ${formatShape(t.shape)}`,
    );
    return bytes ? new Typed(bytes) : new Typed(0);
  }

  /** @internal the tensors created and not disposed. */
  liveTensors(): Tensor[] {
    return [...this.live];
  }

  /**
   * Runs `fn` once for real and records its dispatches into a graph that `replay()` re-submits without running
   * any op code (the idea of CUDA graphs / `torch.cuda.graph`). See {@link captureGraph} for what can be captured.
   * @throws Error on the CPU backend, for a nested capture, or when `fn` reads a tensor back or is async.
   */
  capture<T>(fn: () => T, options: CaptureOptions = {}): CapturedGraph<T> {
    return captureGraph(this, fn, options);
  }

  /**
   * Waits until the GPU has finished all submitted work.
   * @throws {@link GpuError} for a GPU error caught since the last readback or sync; `OpError` for a
   *   device-side check (a label or index out of range on the GPU) raised by a kernel since then.
   */
  async sync(): Promise<void> {
    this.checkLost();
    if (!this.gpu) return;
    this.checkLost();
    await this.readback!.read(null, 0, 'the device-check flags');
  }

  /**
   * Frees every live tensor and every pooled buffer and destroys the device. Every later op, readback or `sync()` on
   * this engine throws a {@link DeviceLostError} (reason `'destroyed'`), and so does a training loop running on it.
   * Calling it again does nothing.
   */
  destroy(): void {
    if (this.destroyed) return;
    // A lost device took its buffers with it: nothing to destroy one by one.
    const deviceGone = this.loss.isLost;
    this.loss.mark('destroyed', 'engine.destroy() was called');
    for (const t of [...this.live]) t.dispose();
    this.destroyed = true;
    this.queue?.discard();
    const gpu = this.gpu;
    if (!gpu) return;
    const teardown = () => {
      if (!deviceGone) {
        this.queue?.destroy();
        this.pool?.destroy();
        this.readback?.destroy();
      }
      gpu.device.destroy();
    };
    // Work already submitted may still be running (destroy() can come from inside a training step): free the
    // buffers and the device once it is done; lavapipe under Dawn has crashed when they went while it ran.
    if (deviceGone) teardown();
    else gpu.device.queue.onSubmittedWorkDone().then(teardown, teardown);
  }
}
