/**
 * The queue of recorded dispatches of one WebGPU device: each launch's bind group (tensors, the cached dummies bound
 * for unused bindings, the device-check flags), its params in a pooled uniform buffer and its grid, derived from the
 * kernel's reflected `@workgroup_size`; `submit()` encodes them all into one compute pass. The engine
 * (./engine.ts) owns one and decides when to submit.
 */
import { FLAG_BYTES } from './device_checks.js';
import type { GpuErrorScopes } from './gpu_errors.js';
import type { BindingInfo, Constants, Kernel, ParamValues } from './kernel.js';
import type { BufferPool } from './pool.js';
import { ScratchTextures } from './scratch_textures.js';
import type { Tensor } from './tensor.js';

/** One recorded kernel launch: the node of the dispatch graph. */
export interface DispatchNode {
  kernel: string;
  pipeline: GPUComputePipeline;
  bindGroup: GPUBindGroup;
  workgroups: [number, number, number];
  /** Buffer-to-texture copies encoded just before the dispatch (outside the compute pass). */
  copies?: GPUCopy[];
}

/** One `copyBufferToTexture`, resolved to the source tensor's buffer. */
interface GPUCopy {
  source: GPUTexelCopyBufferInfo;
  destination: GPUTexelCopyTextureInfo;
  size: [number, number, number];
}

/**
 * A copy of rows of a tensor into a texture, run just before the dispatch that reads it (WebGPU's
 * `copyBufferToTexture`: `bytesPerRow` a multiple of 256, `offset` of 16 for `rgba32float`).
 */
export interface TextureCopy {
  source: Tensor;
  /** Bytes into the tensor where the first row starts. */
  offset: number;
  bytesPerRow: number;
  /** Rows per array layer (when `size[2]` > 1). */
  rowsPerImage?: number;
  texture: GPUTexture;
  /** Texel, row and array layer where the copy lands. */
  origin: [number, number, number];
  /** Texels per row, rows, layers. */
  size: [number, number, number];
}

/**
 * The work a dispatch covers; the engine derives the workgroups from the kernel's reflected `@workgroup_size` (with
 * the dispatch's override constants). A grid past `maxComputeWorkgroupsPerDimension` in its last given dimension is
 * folded into the next one, and kernels rebuild the flat index from `num_workgroups`.
 */
export type Work =
  /** One invocation per item (elements, or rows a thread each): ceil(n / workgroup size) workgroups. */
  | { threads: number; groups?: never }
  /** One workgroup per item (rows, columns, output tiles), in up to three dimensions. */
  | { groups: number | [number, number?, number?]; threads?: never };

export type DispatchSpec = Work & {
  /**
   * Tensors by binding name, as the WGSL declares them (`x`, `y`, `dy`, `lens`, …); `null` for a binding the kernel
   * does not read or write with these params (the engine binds a small cached dummy: WebGPU needs every binding).
   */
  bindings: Record<string, Tensor | null>;
  /** Textures by binding name, for a kernel that declares storage textures. */
  textures?: Record<string, GPUTexture>;
  /** Copies into those textures, run before the dispatch. */
  copies?: TextureCopy[];
  params?: ParamValues;
  constants?: Constants;
  /**
   * Params that depend on the optimizer step t (Adam's bias corrections): `at(t)` gives them for step t, `step`
   * is this dispatch's t. A graph captured with {@link Engine.capture} re-writes them before each replay.
   */
  stepParams?: { step: number; at: (step: number) => ParamValues };
};

const STORAGE = 0x80 | 0x4 | 0x8; // STORAGE | COPY_SRC | COPY_DST, without needing the GPUBufferUsage global
const UNIFORM = 0x40 | 0x8;
/** The binding name of the device-side check flags (src/runtime/device_checks.ts), bound by the engine. */
const ERR_BINDING = 'err';
/** Bytes bound for an unused binding: one vec4, the largest element a kernel declares. */
const DUMMY_BYTES = 16;
/** Writable dummy slots, at WebGPU's default minStorageBufferOffsetAlignment (more than any kernel's bindings). */
const DUMMY_STRIDE = 256;
const DUMMY_SLOTS = 16;

/** What {@link DispatchQueue.record} recorded, for a graph capture to keep. */
export interface Recorded {
  node: DispatchNode;
  entries: GPUBindGroupEntry[];
  ub: GPUBuffer | null;
}

export class DispatchQueue {
  private pending: DispatchNode[] = [];
  private uniformsInFlight: GPUBuffer[] = [];
  /**
   * The buffers bound for `null` bindings: one shared by read-only bindings, one with a slot per writable binding
   * (a dispatch may neither alias writable bindings nor bind one buffer both read-only and writable).
   */
  private dummies: Partial<Record<'read-only-storage' | 'storage', GPUBuffer>> = {};
  /** Dispatches submitted so far. */
  submitted = 0;
  /** Scratch textures that dispatches read copied operands from (see {@link ScratchTextures}). */
  readonly textures: ScratchTextures;

  constructor(
    private readonly device: GPUDevice,
    private readonly pool: BufferPool,
    private readonly gpuErrors: GpuErrorScopes,
  ) {
    this.textures = new ScratchTextures(device);
    pool.onTrim(() => this.textures.release(this.pending.length === 0));
  }

  /** Dispatches recorded and not submitted. */
  get length(): number {
    return this.pending.length;
  }

  /** WebGPU's `maxComputeWorkgroupsPerDimension` on this device. */
  get maxWorkgroups(): number {
    return this.device.limits.maxComputeWorkgroupsPerDimension;
  }

  /**
   * Records one launch of `kernel`. Bindings are checked against the reflected layout; `flags` gives the
   * device-check flag buffer for a kernel that binds `err`.
   * @returns what was recorded, or null for an empty grid (nothing to run).
   * @throws Error naming the kernel and binding when a binding is missing, unknown or disposed, or when the grid
   *   exceeds the device's workgroups per dimension.
   */
  record(kernel: Kernel, spec: DispatchSpec, flags: () => GPUBuffer): Recorded | null {
    const kernelName = kernel.name;
    const entries: GPUBindGroupEntry[] = [];
    let unusedWritable = 0;
    for (const b of kernel.tensorBindings) {
      if (b.name === ERR_BINDING) {
        entries.push({ binding: b.binding, resource: { buffer: flags(), size: FLAG_BYTES } });
        continue;
      }
      const t = spec.bindings[b.name];
      if (t === undefined) throw new Error(`${kernelName}: missing binding "${b.name}"`);
      if (t === null) {
        // Writable bindings of one dispatch may not alias: each gets its own slot of the writable dummy.
        const offset = b.type === 'storage' ? DUMMY_STRIDE * unusedWritable++ : 0;
        entries.push({
          binding: b.binding,
          resource: { buffer: this.dummy(b.type), offset, size: DUMMY_BYTES },
        });
        continue;
      }
      if (t.disposed) throw new Error(`${kernelName}: binding "${b.name}" is a disposed tensor`);
      entries.push({ binding: b.binding, resource: { buffer: t.buffer, size: Math.max(4, t.numel() * 4) } });
    }
    for (const b of kernel.textureBindings) {
      const tex = spec.textures?.[b.name];
      if (!tex) throw new Error(`${kernelName}: missing texture "${b.name}"`);
      entries.push({ binding: b.binding, resource: tex.createView({ dimension: b.texture!.viewDimension }) });
    }
    for (const name of Object.keys(spec.textures ?? {}))
      if (!kernel.textureBindings.some((b) => b.name === name))
        throw new Error(`${kernelName}: unknown texture "${name}"`);
    for (const name of Object.keys(spec.bindings))
      if (!kernel.tensorBindings.some((b) => b.name === name))
        throw new Error(
          `${kernelName}: unknown binding "${name}" (expects ${kernel.tensorBindings.map((b) => b.name).join(', ')})`,
        );
    const [x, y, z] = this.workgroups(kernel, spec);
    const max = this.maxWorkgroups;
    if (x > max || y > max || z > max)
      throw new Error(`${kernelName}: dispatch (${x}, ${y}, ${z}) exceeds ${max} workgroups per dimension`);
    if (x * y * z === 0) return null;
    let ub: GPUBuffer | null = null;
    if (kernel.paramsBinding !== null) {
      const data = kernel.packParams(spec.params);
      ub = this.pool.acquire(data.byteLength, UNIFORM);
      this.device.queue.writeBuffer(ub, 0, data);
      this.uniformsInFlight.push(ub);
      entries.push({ binding: kernel.paramsBinding, resource: { buffer: ub, size: data.byteLength } });
    }
    const node: DispatchNode = {
      kernel: kernelName,
      pipeline: kernel.pipeline(spec.constants),
      bindGroup: this.device.createBindGroup({ label: kernelName, layout: kernel.layout, entries }),
      workgroups: [x, y, z],
    };
    if (spec.copies?.length) node.copies = spec.copies.map((c) => this.copy(kernelName, c));
    this.pending.push(node);
    return { node, entries, ub };
  }

  private copy(kernelName: string, c: TextureCopy): GPUCopy {
    if (c.source.disposed) throw new Error(`${kernelName}: a texture copy reads a disposed tensor`);
    return {
      source: {
        buffer: c.source.buffer,
        offset: c.offset,
        bytesPerRow: c.bytesPerRow,
        ...(c.rowsPerImage ? { rowsPerImage: c.rowsPerImage } : {}),
      },
      destination: { texture: c.texture, origin: c.origin },
      size: c.size,
    };
  }

  /** The grid for `spec`'s work (see {@link Work}). */
  private workgroups(kernel: Kernel, spec: DispatchSpec): [number, number, number] {
    let dims: number[];
    if (spec.threads !== undefined) {
      const [wx, wy, wz] = kernel.workgroupSize(spec.constants);
      if (wy !== 1 || wz !== 1)
        throw new Error(`${kernel.name}: threads needs a 1-D @workgroup_size, got (${wx}, ${wy}, ${wz})`);
      dims = [Math.ceil(spec.threads / wx)];
    } else {
      dims = typeof spec.groups === 'number' ? [spec.groups] : spec.groups.map((g) => g ?? 1);
    }
    const last = dims.length - 1;
    const max = this.maxWorkgroups;
    if (dims.length < 3 && dims[last] > max) dims.splice(last, 1, max, Math.ceil(dims[last] / max));
    const [x, y = 1, z = 1] = dims;
    return [x, y, z];
  }

  /** The cached buffer bound where a dispatch passes `null`. */
  private dummy(type: BindingInfo['type']): GPUBuffer {
    const kind = type === 'storage' ? 'storage' : 'read-only-storage';
    const size = kind === 'storage' ? DUMMY_STRIDE * DUMMY_SLOTS : DUMMY_BYTES;
    this.dummies[kind] ??= this.device.createBuffer({ label: `unused ${kind}`, size, usage: STORAGE });
    return this.dummies[kind];
  }

  /** Encodes every recorded dispatch into one compute pass and submits it. Does not wait. */
  submit(): void {
    // With nothing to submit the scopes stay open: uploads and allocations are checked with the next submit.
    if (this.pending.length === 0) return;
    this.gpuErrors.enter();
    const encoder = this.device.createCommandEncoder();
    let pass: GPUComputePassEncoder | null = null;
    for (const node of this.pending) {
      if (node.copies) {
        // Copies cannot be encoded inside a compute pass: close it, copy, open the next one.
        pass?.end();
        pass = null;
        for (const c of node.copies) encoder.copyBufferToTexture(c.source, c.destination, c.size);
      }
      pass ??= encoder.beginComputePass();
      pass.setPipeline(node.pipeline);
      pass.setBindGroup(0, node.bindGroup);
      pass.dispatchWorkgroups(...node.workgroups);
    }
    pass?.end();
    this.device.queue.submit([encoder.finish()]);
    this.textures.submitted();
    this.gpuErrors.close('at a submit');
    this.submitted += this.pending.length;
    this.pending = [];
    // Uniform buffers were filled with writeBuffer at record time; recycle them only after their submit.
    for (const ub of this.uniformsInFlight) this.pool.release(ub);
    this.uniformsInFlight = [];
  }

  /** Drops every recorded dispatch without running it (the device is gone). */
  discard(): void {
    this.pending = [];
    this.uniformsInFlight = [];
  }

  /** Frees the dummies and the scratch textures. */
  destroy(): void {
    for (const d of Object.values(this.dummies)) d.destroy();
    this.dummies = {};
    this.textures.destroy();
  }
}
