/**
 * Every library on the same adapter: our engine, TensorFlow.js's WebGPU backend and jax-js's. In Node, TF.js and
 * jax-js find WebGPU through `navigator.gpu`, which Node lacks: they get our engine's Dawn instance, so all three
 * request their device from the same adapter.
 */
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { init } from '../../src/index.js';
import { awaitGpu } from '../../src/internal.js';
import { jaxSync, startJax } from './jax.js';
import type { BenchEnv, Library, TF } from './types.js';

/** How a timed run waits for the GPU; written into the results (the same for every library). */
export function waitMethod(runtime: 'node' | 'browser'): string {
  const jax =
    "jax-js records lazily: its runs end by submitting what the outputs need (Array.gpuBuffer(), jax-js's hand-over to other WebGPU code: blockUntilReady without its read-back), then the same onSubmittedWorkDone()";
  return runtime === 'node'
    ? `submit, then await GPUQueue.onSubmittedWorkDone(); Dawn in Node polls for completion on the JavaScript thread: at once for the first 0.5 ms, then every 1 ms on a timer, so that the poll does not take a core from lavapipe (src/runtime/gpu_wait.ts; the same for every library); ${jax}`
    : `submit, then await GPUQueue.onSubmittedWorkDone() (Chrome: performance.now() is coarsened to 0.1 ms); ${jax}`;
}

/**
 * Creates our engine, TF.js's WebGPU backend and, when it can start there, jax-js's.
 * @throws Error with the installation hint when there is no WebGPU adapter, or when TF.js's WebGPU backend
 *   fails to initialise (jax-js failing to start only leaves it out, with the reason).
 */
export async function createEnv(
  runtime: 'node' | 'browser',
  quick: boolean,
  peerMaxSize = Infinity,
): Promise<BenchEnv> {
  const engine = await init('webgpu');
  if (runtime === 'node') {
    // Node ≥ 21 has a read-only `navigator` without `gpu`: redefine it rather than assign.
    Object.defineProperty(globalThis, 'navigator', {
      value: { gpu: engine.gpu!.instance, userAgent: 'node' },
      configurable: true,
      writable: true,
    });
  }
  const tf: TF = await import('@tensorflow/tfjs-core');
  // tfjs-core alone registers no gradients (the tfjs union package does): tf.grads needs them.
  await import('@tensorflow/tfjs-core/dist/register_all_gradients');
  await import('@tensorflow/tfjs-backend-webgpu');
  if (!(await tf.setBackend('webgpu')))
    throw new Error('TensorFlow.js: the WebGPU backend failed to initialise on this adapter');
  await tf.ready();
  const { jax, unavailable } = await startJax();
  return {
    engine,
    tf,
    jax,
    ...(unavailable ? { jaxUnavailable: unavailable } : {}),
    autoKernels: engine.profile.kernels,
    runtime,
    quick,
    peerMaxSize,
  };
}

/** The WebGPU backend's (private) command-queue methods that a flush needs. */
interface TfQueue {
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
  device: GPUDevice;
}

function tfBackend(tf: TF): WebGPUBackend {
  return tf.backend() as WebGPUBackend;
}

/** The libraries running in `env`. */
export function libraries(env: BenchEnv): Library[] {
  return env.jax ? ['ours', 'tfjs', 'jax'] : ['ours', 'tfjs'];
}

/** Submits what `library` has recorded and waits until its queue is idle. */
export async function sync(env: BenchEnv, library: Library): Promise<void> {
  if (library === 'ours') {
    await env.engine.sync();
    return;
  }
  if (library === 'jax') {
    if (env.jax) await jaxSync(env.jax);
    return;
  }
  // What TF.js itself does before a readback: close the open compute pass, then submit its encoder.
  const backend = tfBackend(env.tf) as unknown as TfQueue;
  backend.ensureCommandEncoderReady();
  backend.endComputePassEncoder();
  backend.submitQueue();
  await awaitGpu(() => backend.device.queue.onSubmittedWorkDone());
}

/** The TF.js adapter's description, to check both libraries run on the same adapter. */
export function tfAdapterInfo(env: BenchEnv): string {
  const info = tfBackend(env.tf).adapterInfo as unknown as Record<string, unknown> | undefined;
  return info ? ['vendor', 'architecture', 'description'].map((k) => info[k] ?? '').join(' ') : '';
}

/**
 * Frees our device and TF.js's. jax-js keeps its device: it has no way to start again in the same process once
 * its backend is registered.
 */
export function destroyEnv(env: BenchEnv): void {
  env.tf.engine().reset();
  env.engine.destroy();
}

/**
 * Why a case of main size `size` leaves the peers out (`--peer-max-size`: above env.peerMaxSize), or undefined when
 * they run: for a case's CaseInstance.peersLeftOut.
 */
export function peersLeftOut(env: BenchEnv, size: number): string | undefined {
  return size > env.peerMaxSize ? `left out above --peer-max-size ${env.peerMaxSize}` : undefined;
}
