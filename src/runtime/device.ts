/**
 * Acquiring a WebGPU device in the browser (`navigator.gpu`) or in Node (the `webgpu` package: Dawn).
 */

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
  limits: Record<string, number>;
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
 * Requests a high-performance adapter and a device with the adapter's full limits.
 *
 * @throws Error with {@link INSTALL_HINT} when neither `navigator.gpu` nor the `webgpu` package yields an adapter.
 */
export async function requestGpu(): Promise<Gpu> {
  const inBrowser = typeof navigator !== 'undefined' && 'gpu' in navigator && !!navigator.gpu;
  const gpu = inBrowser ? navigator.gpu : await nodeGpu();
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new Error(INSTALL_HINT);
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
  const device = await adapter.requestDevice({ requiredLimits: limits, requiredFeatures });
  const info = adapter.info;
  const report: AdapterReport = {
    vendor: info?.vendor ?? '',
    architecture: info?.architecture ?? '',
    device: info?.device ?? '',
    description: info?.description ?? '',
    runtime: inBrowser ? 'browser' : 'node',
    software: /llvmpipe|lavapipe|swiftshader|warp|software/i.test(
      [info?.vendor, info?.architecture, info?.device, info?.description].join(' '),
    ),
    features: [...adapter.features].sort(),
    limits,
  };
  return { instance: gpu, device, adapter, report };
}
