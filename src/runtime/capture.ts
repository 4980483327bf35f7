/**
 * Capture and replay of a whole step's dispatches, in the spirit of CUDA graphs (`torch.cuda.graph`): the step runs
 * once for real while every dispatch node it records (pipeline, bind group, workgroups) is kept, with the buffers
 * its bind groups point at pinned in the pool. A replay encodes those nodes into one compute pass and submits it:
 * no shape rules, pool traffic, uniform packing, bind groups or autograd tape, only three encoder calls per node.
 *
 * What a replay reproduces is the captured dispatch sequence on the same buffers, so:
 * - Tensors that existed before the capture and were updated in place by `assign` (parameters, optimizer moments,
 *   running statistics) carry over: the graph ends by copying their new values back into their pre-capture
 *   buffers, which the next replay reads. Pre-capture tensors the graph reads stay bound to it even when eager
 *   code re-assigns them between replays (an eager step, `loadStateDict`): a replay first copies their current
 *   contents onto the graph's buffers.
 * - New data comes in through named `inputs` (tensors created before the capture), re-written by `replay()`.
 * - Everything else the CPU decided at capture time is frozen: arrays uploaded inside the step (masks from CPU
 *   valid lengths), hyperparameters (lr), and dropout seeds (each replay draws the captured mask again). Params
 *   that depend on the optimizer step (Adam's bias corrections) are declared by their op with `stepParams` and
 *   re-written per replay.
 * - Run the step eagerly once before capturing (as PyTorch asks for warm-up iterations): state created lazily on a
 *   first step (optimizer moments) would otherwise be re-created by every replay.
 * - Reading a tensor back inside the step throws: a replay cannot hand values to JavaScript mid-step.
 */
import type { DispatchNode, Engine } from './engine.js';
import { checkInt32 } from './int32.js';
import type { Kernel, ParamValues } from './kernel.js';
import type { BufferPool } from './pool.js';
import { Tensor, formatShape, type TypedArray } from './tensor.js';

export interface CaptureOptions {
  /**
   * Tensors whose contents a replay may replace, by name: `graph.replay({ x: data })`. Create them before the
   * capture (their contents then are the capture's data) and use them inside the step.
   */
  inputs?: Record<string, Tensor>;
  /**
   * Step counters the step advances (optimizers' `stepCount`): each replay advances them as much as the capture did,
   * so that eager steps after replays continue the count. The first one also gives the optimizer step t of each
   * replay's step-dependent params, so eager steps between replays are counted too; without it, replay r is r·S
   * steps past the capture (S: the steps the capture took).
   */
  optimizers?: { stepCount: number }[];
}

interface SteppedUniform {
  uniform: GPUBuffer;
  kernel: Kernel;
  step: number;
  at: (step: number) => ParamValues;
}

interface StateCopy {
  src: GPUBuffer;
  dst: GPUBuffer;
  bytes: number;
}

/** A pre-capture tensor the graph reads or updates, and a handle that keeps the graph's buffer for it. */
interface Bound {
  t: Tensor;
  hold: Tensor;
}

/** @internal collects the dispatches of a capture for the engine, which calls `record` from `dispatch`. */
export class CaptureRecorder {
  readonly nodes: DispatchNode[] = [];
  readonly stepped: SteppedUniform[] = [];
  private readonly buffers = new Set<GPUBuffer>();
  violation: string | null = null;
  /** Whether a recorded kernel raises device-side checks (src/runtime/device_checks.ts): replays arm them. */
  checksValues = false;

  constructor(private readonly pool: BufferPool) {}

  record(
    node: DispatchNode,
    kernel: Kernel,
    entries: GPUBindGroupEntry[],
    uniform: GPUBuffer | null,
    stepParams: { step: number; at: (step: number) => ParamValues } | undefined,
  ): void {
    this.nodes.push(node);
    if (kernel.tensorBindings.some((b) => b.name === 'err')) this.checksValues = true;
    for (const e of entries) this.pin((e.resource as GPUBufferBinding).buffer);
    if (stepParams && uniform) this.stepped.push({ uniform, kernel, ...stepParams });
  }

  /** Keeps `buf` out of the pool's free lists while the graph lives (its bind groups point at it). */
  pin(buf: GPUBuffer): void {
    if (this.buffers.has(buf)) return;
    this.buffers.add(buf);
    this.pool.pin(buf);
  }

  /** Whether a recorded dispatch (or a state copy) uses `buf`. */
  uses(buf: GPUBuffer): boolean {
    return this.buffers.has(buf);
  }

  /**
   * Notes the violation, which `capture` throws once the step returns. The readback's promise never settles:
   * rejecting it would surface as an unhandled rejection through `Tensor.data()`'s own promise.
   */
  refuseReadback(t: Tensor): Promise<never> {
    this.violation ??=
      `capture: tensor #${t.id} ${formatShape(t.shape)} is read back inside the captured step; a replay cannot ` +
      'hand values to JavaScript mid-step. Return the tensor and read it after capture() or replay().';
    return new Promise<never>(() => {});
  }

  unpinAll(): void {
    for (const b of this.buffers) this.pool.unpin(b);
    this.buffers.clear();
  }
}

function tensorsIn(v: unknown, out: Tensor[] = []): Tensor[] {
  if (v instanceof Tensor) out.push(v);
  else if (Array.isArray(v)) for (const x of v) tensorsIn(x, out);
  else if (v && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype)
    for (const x of Object.values(v)) tensorsIn(x, out);
  return out;
}

/** A recorded step: `replay()` re-submits it, `dispose()` hands its buffers back to the pool. */
export class CapturedGraph<T> {
  /** Replays so far. */
  replays = 0;
  private disposed = false;

  /** @internal built by {@link captureGraph}. */
  constructor(
    private readonly engine: Engine,
    /** What the step returned: tensors that every replay overwrites, disposed with the graph. */
    readonly result: T,
    private readonly recorder: CaptureRecorder,
    private readonly copies: StateCopy[],
    private readonly bound: Bound[],
    private readonly stepsPerReplay: number,
    private readonly inputs: Record<string, Tensor>,
    private readonly counters: [{ stepCount: number }, number][],
  ) {
    this.driverBase = counters[0]?.[0].stepCount ?? 0;
  }

  /** The first counter's value right after the capture. */
  private readonly driverBase: number;

  /** Dispatches per replay. */
  get dispatches(): number {
    return this.recorder.nodes.length;
  }

  /**
   * Submits the recorded step once more, after any eager work recorded before it; does not wait. `inputs`
   * replaces the named inputs' contents first (row-major, the tensor's size and dtype).
   * @throws Error after `dispose()`, for an unknown input name, a disposed input or data of the wrong length;
   *   OpError for int32 data that is not integers in int32's range. Labels and indices out of range are caught
   *   by the kernels (src/runtime/device_checks.ts) and raised at the next readback or `sync()`.
   */
  replay(inputs: Record<string, ArrayLike<number>> = {}): void {
    if (this.disposed) throw new Error('replay: the captured graph was disposed');
    const engine = this.engine;
    const queue = engine.device.queue;
    // queue.writeBuffer runs ahead of unsubmitted work: submit earlier dispatches so they read the old values.
    engine.flush();
    engine.gpuErrors!.around('while replaying a captured graph', () => this.submit(inputs, queue));
  }

  private submit(inputs: Record<string, ArrayLike<number>>, queue: GPUQueue): void {
    const engine = this.engine;
    // Every input is checked before any is written, so a bad one leaves the graph's inputs as they were.
    const writes = Object.entries(inputs).map(([name, data]) => {
      const t = this.inputs[name];
      if (!t)
        throw new Error(
          `replay: unknown input "${name}" (captured inputs: ${Object.keys(this.inputs).join(', ') || 'none'})`,
        );
      if (t.disposed) throw new Error(`replay: input "${name}" was disposed`);
      if (data.length !== t.numel())
        throw new Error(
          `replay: input "${name}" ${formatShape(t.shape)} needs ${t.numel()} values, got ${data.length}`,
        );
      if (t.dtype === 'int32') checkInt32('replay', data, t.shape);
      const Typed = t.dtype === 'int32' ? Int32Array : Float32Array;
      return [t, (data instanceof Typed ? data : Typed.from(data)) as TypedArray] as const;
    });
    for (const [t, typed] of writes) {
      if (t.numel() > 0) queue.writeBuffer(t.buffer, 0, typed as Float32Array<ArrayBuffer>);
      // Eager ops after the replay validate against the new values; the replay's own kernels check on the GPU.
      if (t.dtype === 'int32') t.setHostInts(Int32Array.from(typed));
    }
    this.replays++;
    for (const [counter, delta] of this.counters) counter.stepCount += delta;
    const driver = this.counters[0];
    const ahead = driver ? driver[0].stepCount - this.driverBase : this.replays * this.stepsPerReplay;
    for (const s of this.recorder.stepped)
      queue.writeBuffer(s.uniform, 0, s.kernel.packParams(s.at(s.step + ahead)));
    // Eager code may have given a bound tensor new storage since: bring its values onto the graph's buffer and
    // the tensor back onto that buffer (its other storage is released; the copy below is queued before any reuse).
    const rebinds: StateCopy[] = [];
    for (const { t, hold } of this.bound)
      if (!t.disposed && t.buffer !== hold.buffer) {
        if (t.numel() > 0) rebinds.push({ src: t.buffer, dst: hold.buffer, bytes: t.numel() * 4 });
        t.assign(hold);
      }
    queue.submit([encode(engine.device, rebinds, this.recorder.nodes, this.copies)]);
    if (this.recorder.checksValues) engine.armFlags();
    engine.dispatchCount += this.recorder.nodes.length;
  }

  /** Unpins the graph's buffers (the pool may hand them out again) and disposes `result`'s tensors. Idempotent. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const t of tensorsIn(this.result)) t.dispose();
    for (const { hold } of this.bound) hold.dispose();
    this.recorder.unpinAll();
  }
}

function encode(
  device: GPUDevice,
  before: StateCopy[],
  nodes: DispatchNode[],
  after: StateCopy[],
): GPUCommandBuffer {
  const encoder = device.createCommandEncoder({ label: 'captured graph' });
  for (const c of before) encoder.copyBufferToBuffer(c.src, 0, c.dst, 0, c.bytes);
  if (nodes.length) {
    const pass = encoder.beginComputePass();
    let pipeline: GPUComputePipeline | null = null;
    for (const node of nodes) {
      if (node.pipeline !== pipeline) pass.setPipeline((pipeline = node.pipeline));
      pass.setBindGroup(0, node.bindGroup);
      pass.dispatchWorkgroups(...node.workgroups);
    }
    pass.end();
  }
  for (const c of after) encoder.copyBufferToBuffer(c.src, 0, c.dst, 0, c.bytes);
  return encoder.finish();
}

/**
 * Runs `fn` once (inside a `tidy` scope; its results are correct and returned in `graph.result`) and records its
 * dispatches into a {@link CapturedGraph}. Tensors alive before the capture whose storage `fn` replaced with
 * `assign` are put back on their own buffers, which the graph's final copies update.
 * @param fn a synchronous step: ops, `backward`, optimizer steps; no readbacks.
 * @throws Error on the CPU backend, inside another capture, when `fn` throws (nothing stays pinned), returns a
 *   promise, or reads a tensor back.
 */
export function captureGraph<T>(engine: Engine, fn: () => T, options: CaptureOptions = {}): CapturedGraph<T> {
  const pool = engine.pool;
  if (!pool) throw new Error('capture: the CPU backend records no dispatches');
  if (engine.recorder) throw new Error('capture: already capturing (captures do not nest)');
  // Work recorded before the capture is not part of the step.
  engine.flush();
  const before = engine.liveTensors();
  // Handles on the pre-capture storages, so that a tensor `fn` re-assigns can be put back on its own buffer.
  const holds = before.map((t) => t.share(t.shape));
  const counters = (options.optimizers ?? []).map((o) => [o, o.stepCount] as [{ stepCount: number }, number]);
  const recorder = new CaptureRecorder(pool);
  let result: T | undefined;
  let failure: unknown = null;
  engine.recorder = recorder;
  try {
    result = engine.tidy(() => {
      const r = fn();
      if (typeof (r as { then?: unknown } | undefined)?.then === 'function') {
        (r as Promise<unknown>).catch(() => {});
        throw new Error('capture: the step must be synchronous (it returned a promise)');
      }
      return r;
    });
  } catch (e) {
    failure = e;
  } finally {
    engine.recorder = null;
  }
  if (!failure && recorder.violation) failure = new Error(recorder.violation);
  if (failure) {
    engine.flush();
    for (const t of tensorsIn(result)) t.dispose();
    for (const h of holds) h.dispose();
    recorder.unpinAll();
    throw failure;
  }
  const copies: StateCopy[] = [];
  const bound: Bound[] = [];
  before.forEach((t, i) => {
    const hold = holds[i];
    const changed = !t.disposed && t.buffer !== hold.buffer;
    if (changed) {
      if (t.numel() > 0) copies.push({ src: t.buffer, dst: hold.buffer, bytes: t.numel() * 4 });
      recorder.pin(t.buffer);
      recorder.pin(hold.buffer);
      t.assign(hold);
    }
    if (changed || (!t.disposed && recorder.uses(hold.buffer))) bound.push({ t, hold: hold.keep() });
    else hold.dispose();
  });
  // The captured run itself ends with the same copies as every replay.
  engine.flush();
  if (copies.length)
    engine.gpuErrors!.around('while ending a capture', () =>
      engine.device.queue.submit([encode(engine.device, [], [], copies)]),
    );
  const steps = recorder.stepped.map((s) => s.step);
  const stepsPerReplay = steps.length ? Math.max(...steps) - Math.min(...steps) + 1 : 0;
  for (const c of counters) c[1] = c[0].stepCount - c[1];
  return new CapturedGraph(
    engine,
    result as T,
    recorder,
    copies,
    bound,
    stepsPerReplay,
    options.inputs ?? {},
    counters,
  );
}
