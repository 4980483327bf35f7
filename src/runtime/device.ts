/**
 * Acquiring a WebGPU device in the browser (`navigator.gpu`) or in Node (the `webgpu` package: Dawn).
 */
import { resolveKernelSet, type KernelChoice, type KernelSet } from './kernel_set.js';

/** What the adapter says about itself; written into results so runs can be compared. */
export interface AdapterReport {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** `'browser'` when `navigator.gpu` was used, `'node'` for Dawn through the `webgpu` package. */
  runtime: 'browser' | 'node';
  /** A CPU-emulated adapter (lavapipe/llvmpipe, SwiftShader, WARP): kernels pick barrier-free variants there. */
  software: boolean;
  features: string[];
  /** The device's limits (what it enforces): the adapter's, or WebGPU's defaults when those were requested. */
  limits: Record<string, number>;
  /** `'adapter'`: the device asked for the adapter's limits; `'default'`: for none above WebGPU's defaults. */
  limitsRequested: GpuLimits;
  /** The kernel set that runs on this device (src/runtime/kernel_set.ts). */
  kernels: KernelSet;
}

/** Which limits a device asks for: everything the adapter offers, or WebGPU's defaults (what many users get). */
export type GpuLimits = 'adapter' | 'default';

export interface GpuOptions {
  /** Default `'adapter'`. `'default'` proves that every pipeline fits WebGPU's default limits. */
  limits?: GpuLimits;
  /** Default `'auto'` (see {@link resolveKernelSet}). */
  kernels?: KernelChoice;
}

/** How to get an adapter when there is none; part of every "no WebGPU" error. */
export const INSTALL_HINT = [
  'No WebGPU adapter was found.',
  '- Node on Debian 12 without a GPU: install Mesa lavapipe >= 24 from bookworm-backports:',
  '    echo "deb http://deb.debian.org/debian bookworm-backports main" > /etc/apt/sources.list.d/backports.list',
  '    apt-get update && apt-get install -y -t bookworm-backports mesa-vulkan-drivers',
  '  (Ubuntu >= 24.04: apt-get install mesa-vulkan-drivers). Or run `bash scripts/setup.sh`, which does this.',
  '- Node with a GPU: install the vendor Vulkan driver (NVIDIA/AMD/Intel) and `npm install webgpu`.',
  '- Browsers: Chrome/Edge >= 113 have WebGPU on; on Linux start Chrome with',
  '  --enable-unsafe-webgpu --enable-features=Vulkan --ignore-gpu-blocklist; serve the page from https or',
  '  http://127.0.0.1 (a secure context). Firefox: set dom.webgpu.enabled in about:config.',
].join('\n');

export interface Gpu {
  /** Held so that Dawn's instance outlives the device: dropping it lets GC tear Dawn down under us. */
  instance: globalThis.GPU;
  device: GPUDevice;
  adapter: GPUAdapter;
  report: AdapterReport;
}

async function nodeGpu(): Promise<globalThis.GPU> {
  // Kept behind a dynamic import so browser bundles never pull in the Dawn binding.
  const mod = 'webgpu';
  let webgpu: { create: (flags: string[]) => globalThis.GPU; globals: object };
  try {
    webgpu = await import(/* @vite-ignore */ mod);
  } catch (e) {
    throw new Error(`${INSTALL_HINT}\n(The 'webgpu' npm package could not be loaded: ${String(e)})`, {
      cause: e,
    });
  }
  Object.assign(globalThis, webgpu.globals);
  return webgpu.create([]);
}

/**
 * Whether every subgroup of the device has exactly 4 lanes (SwiftShader). There the software kernels write their
 * short loops over a subgroup's lanes or a block's 4 keys (or query rows) out (matmul_subgroup.wgsl's LANES, the
 * _named attention kernels' KEYS_WRITTEN and QUERIES_WRITTEN, with 8 rows per thread): SwiftShader stores a variable
 * assigned inside a loop at every pass, while lavapipe (8 lanes) runs the loops faster.
 */
export function fourLaneSubgroups(gpu: Gpu | null | undefined): boolean {
  const info = gpu?.adapter.info;
  return info?.subgroupMinSize === 4 && info?.subgroupMaxSize === 4;
}

/**
 * Whether the device's WGSL offers read-only storage textures (`texture_storage_2d<rgba32float, read>`, the
 * `readonly_and_readwrite_storage_textures` language feature), which matmul_texture.wgsl reads its operands from.
 */
export function readOnlyStorageTextures(gpu: Gpu | null | undefined): boolean {
  return !!gpu?.instance.wgslLanguageFeatures?.has('readonly_and_readwrite_storage_textures');
}

/**
 * Requests a high-performance adapter and a device with the adapter's full limits (or WebGPU's defaults), with
 * `subgroups` where the adapter has it, and resolves the kernel set.
 *
 * @throws Error with {@link INSTALL_HINT} when neither `navigator.gpu` nor the `webgpu` package yields an adapter;
 *   Error when `options.kernels` or `WEBGPU_ATTENTION_KERNELS` names no kernel set.
 */
export async function requestGpu(options: GpuOptions = {}): Promise<Gpu> {
  const limitsRequested = options.limits ?? 'adapter';
  if (limitsRequested !== 'adapter' && limitsRequested !== 'default')
    throw new Error(`init: limits must be 'adapter' or 'default', got ${String(limitsRequested)}`);
  const inBrowser = typeof navigator !== 'undefined' && 'gpu' in navigator && !!navigator.gpu;
  const gpu = inBrowser ? navigator.gpu : await nodeGpu();
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new Error(INSTALL_HINT);
  const info = adapter.info;
  const software = /llvmpipe|lavapipe|swiftshader|warp|software/i.test(
    [info?.vendor, info?.architecture, info?.device, info?.description].join(' '),
  );
  // Resolved before the device exists, so a bad choice leaves nothing to clean up.
  const kernels = resolveKernelSet(options.kernels, software);
  const limits: Record<string, number> = {};
  const wanted = [
    'maxStorageBufferBindingSize',
    'maxBufferSize',
    'maxComputeWorkgroupStorageSize',
    'maxComputeInvocationsPerWorkgroup',
    'maxComputeWorkgroupSizeX',
    'maxComputeWorkgroupsPerDimension',
    'maxStorageBuffersPerShaderStage',
  ] as const;
  for (const k of wanted) limits[k] = adapter.limits[k];
  // Subgroup operations let matmul share loaded values across lanes (shaders/matmul_subgroup.wgsl).
  // (@webgpu/types does not list 'subgroups' yet.)
  const requiredFeatures = ['subgroups'].filter((f) =>
    adapter.features.has(f),
  ) as unknown as GPUFeatureName[];
  const device = await adapter.requestDevice({
    requiredLimits: limitsRequested === 'adapter' ? limits : {},
    requiredFeatures,
  });
  for (const k of wanted) limits[k] = device.limits[k];
  const report: AdapterReport = {
    vendor: info?.vendor ?? '',
    architecture: info?.architecture ?? '',
    device: info?.device ?? '',
    description: info?.description ?? '',
    runtime: inBrowser ? 'browser' : 'node',
    software,
    features: [...adapter.features].sort(),
    limits,
    limitsRequested,
    kernels,
  };
  return { instance: gpu, device, adapter, report };
}
