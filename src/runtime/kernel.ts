/**
 * A WGSL kernel reflected with wgsl_reflect: the bind-group layout and the uniform `params` layout are read from
 * the source, never written twice by hand. Pipelines are cached per (kernel, override constants).
 */
import { WgslReflect } from 'wgsl_reflect/wgsl_reflect.module.js';
import { composedShader } from './shaders.js';
import type { ComposedShader } from './wgsl_compose.js';

type ScalarKind = 'u32' | 'i32' | 'f32';

interface ParamMember {
  offset: number;
  kind: ScalarKind;
  /** Number of scalars the member holds (1 for a scalar, 4 for vec4, 4·N for array<vec4, N>). */
  count: number;
}

export interface BindingInfo {
  name: string;
  binding: number;
  type: 'read-only-storage' | 'storage' | 'uniform' | 'storage-texture';
  /** For a storage texture: how the kernel reads it (only read-only ones so far) and its reflected type. */
  texture?: { access: GPUStorageTextureAccess; format: GPUTextureFormat; viewDimension: '2d' | '2d-array' };
}

/** Storage-texture types a kernel may declare, and the view each binds. */
const TEXTURE_VIEWS: Record<string, '2d' | '2d-array'> = {
  texture_storage_2d: '2d',
  texture_storage_2d_array: '2d-array',
};

export type ParamValues = Record<string, number | ArrayLike<number>>;
export type Constants = Record<string, number>;

function scalarKind(typeName: string | undefined, kernel: string, member: string): ScalarKind {
  const m = /(u32|i32|f32)|vec\d([uif])/.exec(typeName ?? '');
  if (m?.[1]) return m[1] as ScalarKind;
  if (m?.[2]) return `${m[2]}32` as ScalarKind;
  throw new Error(`kernel "${kernel}": params member "${member}" has unsupported type ${typeName}`);
}

export class Kernel {
  readonly bindings: BindingInfo[];
  readonly paramsSize: number;
  readonly paramsBinding: number | null;
  readonly overrides: ReadonlySet<string>;
  /** The WGSL the device compiles: the kernel's file with the lib files it imports appended. */
  readonly source: string;
  private readonly locate: ComposedShader['locate'];
  /** `@workgroup_size` as reflected with the overrides' defaults, and the override named by each dimension. */
  private readonly wgDefault: [number, number, number];
  private readonly wgNames: (string | null)[];
  readonly layout: GPUBindGroupLayout;
  readonly module: GPUShaderModule;
  private readonly members = new Map<string, ParamMember>();
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  private readonly pending = new Map<string, Promise<GPUComputePipeline>>();
  private readonly pipelineLayout: GPUPipelineLayout;

  constructor(
    readonly name: string,
    readonly device: GPUDevice,
    /**
     * Defaults to shaders/<name>.wgsl composed with its imports; given explicitly (a composed shader, or one
     * file's text) only by tests of the loader itself.
     */
    shader: ComposedShader | string = composedShader(name),
  ) {
    const composed =
      typeof shader === 'string'
        ? { code: shader, locate: (line: number) => ({ file: `shaders/${name}.wgsl`, line }) }
        : shader;
    this.source = composed.code;
    this.locate = composed.locate;
    const source = this.source;
    const reflect = new WgslReflect(source);
    if (reflect.entry.compute.length !== 1 || reflect.entry.compute[0].name !== 'main')
      throw new Error(`kernel "${name}": shaders/${name}.wgsl must have exactly one @compute fn main`);
    this.bindings = [];
    for (const v of reflect.storage) {
      if (v.group !== 0) throw new Error(`kernel "${name}": binding "${v.name}" must be in @group(0)`);
      const access = String(v.access);
      const typeName = String(v.type?.name ?? '');
      if (typeName.startsWith('texture_storage')) {
        const format = (v.type as { format?: { name: string } }).format?.name;
        const viewDimension = TEXTURE_VIEWS[typeName];
        if (access !== 'read' || format !== 'rgba32float' || !viewDimension)
          throw new Error(
            `kernel "${name}": storage texture "${v.name}" must be a read-only rgba32float texture_storage_2d or ` +
              `texture_storage_2d_array, got ${typeName}<${format}, ${access}>`,
          );
        this.bindings.push({
          name: v.name,
          binding: v.binding,
          type: 'storage-texture',
          texture: { access: 'read-only', format, viewDimension },
        });
        continue;
      }
      this.bindings.push({
        name: v.name,
        binding: v.binding,
        type: access === 'read_write' || access === 'write' ? 'storage' : 'read-only-storage',
      });
    }
    let paramsSize = 0;
    let paramsBinding: number | null = null;
    for (const u of reflect.uniforms) {
      if (u.name !== 'params')
        throw new Error(`kernel "${name}": the only uniform must be "params", got "${u.name}"`);
      this.bindings.push({ name: 'params', binding: u.binding, type: 'uniform' });
      paramsBinding = u.binding;
      paramsSize = Math.max(16, Math.ceil(u.size / 16) * 16);
      for (const m of u.members ?? []) {
        const t = m.type as { name: string; format?: { name: string }; count?: number };
        const isArray = t.name === 'array';
        const elemName = isArray ? t.format?.name : t.name;
        const kind = scalarKind(isArray ? (t.format?.name ?? '') : t.name, name, m.name);
        const lanes = /vec(\d)/.exec(elemName ?? '')?.[1];
        const perElem = lanes ? Number(lanes) : 1;
        this.members.set(m.name, { offset: m.offset, kind, count: perElem * (isArray ? (t.count ?? 1) : 1) });
      }
    }
    this.paramsSize = paramsSize;
    this.paramsBinding = paramsBinding;
    this.overrides = new Set(reflect.overrides.map((o) => o.name));
    const entry = reflect.entry.compute[0];
    const [x = 1, y = 1, z = 1] = entry.workgroupSize ?? [];
    this.wgDefault = [x, y, z];
    const attr = entry.attributes?.find((a) => a.name === 'workgroup_size')?.value;
    const args = attr == null ? [] : Array.isArray(attr) ? attr : [attr];
    this.wgNames = [0, 1, 2].map((i) => (this.overrides.has(String(args[i])) ? String(args[i]) : null));
    this.bindings.sort((a, b) => a.binding - b.binding);
    this.layout = device.createBindGroupLayout({
      label: name,
      entries: this.bindings.map((b) =>
        b.texture
          ? { binding: b.binding, visibility: GPUShaderStage.COMPUTE, storageTexture: b.texture }
          : {
              binding: b.binding,
              visibility: GPUShaderStage.COMPUTE,
              buffer: { type: b.type as GPUBufferBindingType },
            },
      ),
    });
    this.pipelineLayout = device.createPipelineLayout({ label: name, bindGroupLayouts: [this.layout] });
    this.module = device.createShaderModule({ label: name, code: source });
  }

  /** The names the caller must bind (tensors), in binding order; `params` and textures excluded. */
  get tensorBindings(): BindingInfo[] {
    return this.bindings.filter((b) => b.type !== 'uniform' && b.type !== 'storage-texture');
  }

  /** The storage textures the caller must bind, in binding order. */
  get textureBindings(): BindingInfo[] {
    return this.bindings.filter((b) => b.type === 'storage-texture');
  }

  /**
   * The workgroup size a dispatch with `constants` runs: the reflected `@workgroup_size`, with a dimension named
   * by an override (`@workgroup_size(WG)`) taken from `constants` where they set it.
   */
  workgroupSize(constants?: Constants): [number, number, number] {
    return this.wgDefault.map((d, i) => {
      const name = this.wgNames[i];
      return name !== null && constants?.[name] !== undefined ? constants[name] : d;
    }) as [number, number, number];
  }

  private key(constants: Constants | undefined): string {
    if (!constants) return '';
    for (const c of Object.keys(constants))
      if (!this.overrides.has(c)) throw new Error(`kernel "${this.name}": unknown override constant "${c}"`);
    return JSON.stringify(Object.entries(constants).sort());
  }

  private descriptor(constants: Constants | undefined): GPUComputePipelineDescriptor {
    return {
      label: this.name,
      layout: this.pipelineLayout,
      compute: { module: this.module, entryPoint: 'main', constants },
    };
  }

  /** Compiles in the background; concurrent requests for the same constants share one compile. */
  pipelineAsync(constants?: Constants): Promise<GPUComputePipeline> {
    const key = this.key(constants);
    const done = this.pipelines.get(key);
    if (done) return Promise.resolve(done);
    let p = this.pending.get(key);
    if (!p) {
      p = this.device.createComputePipelineAsync(this.descriptor(constants)).then((pipe) => {
        if (!this.pipelines.has(key)) this.pipelines.set(key, pipe);
        return this.pipelines.get(key)!;
      });
      this.pending.set(key, p);
    }
    return p;
  }

  /** The pipeline now: the cached one, or a synchronous compile when the async one has not finished. */
  pipeline(constants?: Constants): GPUComputePipeline {
    const key = this.key(constants);
    let pipe = this.pipelines.get(key);
    if (!pipe) {
      pipe = this.device.createComputePipeline(this.descriptor(constants));
      this.pipelines.set(key, pipe);
    }
    return pipe;
  }

  /** Compile diagnostics with WGSL line numbers and the offending line; empty when the source is valid. */
  async diagnostics(): Promise<string> {
    const info = await this.module.getCompilationInfo();
    const lines = this.source.split('\n');
    return info.messages
      .filter((m) => m.type === 'error')
      .map((m) => {
        // Lines past the kernel's own come from the lib files it imports: name the file and line there.
        const at = this.locate(m.lineNum);
        const via = at.file === `shaders/${this.name}.wgsl` ? '' : ` (imported by shaders/${this.name}.wgsl)`;
        return (
          `${at.file}:${at.line}:${m.linePos}: ${m.type}: ${m.message}${via}\n` +
          `  ${at.line} | ${lines[m.lineNum - 1] ?? ''}`
        );
      })
      .join('\n');
  }

  /** Packs `params` by member name at the reflected offsets; every member must be given, no extra ones. */
  packParams(values: ParamValues | undefined): ArrayBuffer {
    const buf = new ArrayBuffer(this.paramsSize);
    const u32 = new Uint32Array(buf);
    const i32 = new Int32Array(buf);
    const f32 = new Float32Array(buf);
    const given = values ?? {};
    for (const k of Object.keys(given))
      if (!this.members.has(k)) throw new Error(`kernel "${this.name}": unknown param "${k}"`);
    for (const [name, m] of this.members) {
      const v = given[name];
      if (v === undefined) throw new Error(`kernel "${this.name}": missing param "${name}"`);
      const arr = typeof v === 'number' ? [v] : v;
      if (arr.length > m.count)
        throw new Error(`kernel "${this.name}": param "${name}" holds ${m.count} values, got ${arr.length}`);
      const view = m.kind === 'u32' ? u32 : m.kind === 'i32' ? i32 : f32;
      for (let i = 0; i < arr.length; i++) view[m.offset / 4 + i] = arr[i];
    }
    return buf;
  }
}
