/**
 * Reading GPU buffers back, the engine's only wait on the device, and the device-side check flags
 * (device_checks.ts) that come back with every read after a checking kernel ran. Errors surface here in a fixed
 * order: a GPU error caught since the last check, a failed mapping, then a device-side check; a lost device is
 * reported as itself, never as its symptoms.
 */
import { FLAG_BYTES, flagError } from './device_checks.js';
import { GpuError } from './errors.js';
import { awaitGpu } from './gpu_wait.js';
import type { GpuErrorScopes } from './gpu_errors.js';
import type { BufferPool } from './pool.js';

const STORAGE = 0x80 | 0x4 | 0x8; // STORAGE | COPY_SRC | COPY_DST, without needing the GPUBufferUsage global
const READBACK = 0x1 | 0x8; // MAP_READ | COPY_DST

/** What a readback needs of its engine. */
export interface ReadbackHost {
  readonly device: GPUDevice;
  readonly pool: BufferPool;
  readonly gpuErrors: GpuErrorScopes;
  /** Rejects with the DeviceLostError once the device is lost: a readback races it against its own result. */
  readonly whenLost: Promise<never>;
  /** Submits the recorded dispatches. */
  flush(): void;
  /** Throws the DeviceLostError once the device is lost or the engine destroyed. */
  checkLost(): void;
  /** After a failure, whether the device is lost (GPUDevice.lost settles a little after the failure it causes). */
  lostAfterFailure(): Promise<boolean>;
  /** Hands a buffer back to the pool (unless the engine was destroyed). */
  releaseBuffer(buf: GPUBuffer): void;
}

/** One engine's readbacks and its device-check flag buffer. */
export class Readback {
  /** The device-side check flags, created with the first kernel that binds them. */
  private flags: GPUBuffer | null = null;
  /** Whether a kernel that may raise a device-side check ran since the flags were last read. */
  private armed = false;

  constructor(private readonly host: ReadbackHost) {}

  /** The flag buffer a checking kernel binds (zeroed at creation and after every read); the next read checks it. */
  flagBinding(): GPUBuffer {
    this.flags ??= this.host.device.createBuffer({
      label: 'device checks',
      size: FLAG_BYTES,
      usage: STORAGE,
    });
    this.armed = true;
    return this.flags;
  }

  /** A captured graph whose kernels check values was replayed: read the flags at the next readback. */
  arm(): void {
    if (this.flags) this.armed = true;
  }

  /**
   * Copies `bytes` of `src` back (with the device-check flags when a checking kernel ran) and raises, in this
   * order, a GPU error caught since the last check, a failed mapping, then a device-side check. Returns a copy of
   * the bytes (null when none were asked for). Waits only for the copy itself.
   */
  async read(src: GPUBuffer | null, bytes: number, what: string): Promise<ArrayBuffer | null> {
    const { device, pool, gpuErrors, whenLost } = this.host;
    this.host.flush();
    const flags = this.armed ? this.flags : null;
    const total = (src ? bytes : 0) + (flags ? FLAG_BYTES : 0);
    let staging: GPUBuffer | null = null;
    if (total > 0) {
      staging = gpuErrors.around(`while reading ${what} back`, () => {
        const buf = pool.acquire(total, READBACK);
        const encoder = device.createCommandEncoder();
        if (src && bytes > 0) encoder.copyBufferToBuffer(src, 0, buf, 0, bytes);
        if (flags) {
          encoder.copyBufferToBuffer(flags, 0, buf, total - FLAG_BYTES, FLAG_BYTES);
          encoder.clearBuffer(flags);
        }
        device.queue.submit([encoder.finish()]);
        return buf;
      });
      this.armed = false;
    } else {
      gpuErrors.close('in the device calls since the previous submit');
      // A lost device may never settle its pending promises.
      await awaitGpu(() => Promise.race([device.queue.onSubmittedWorkDone(), whenLost]));
    }
    let data: ArrayBuffer | null = null;
    let words: Uint32Array | null = null;
    let mapFailure: unknown = null;
    if (staging) {
      try {
        await awaitGpu(() => Promise.race([staging!.mapAsync(GPUMapMode.READ, 0, total), whenLost]));
        const range = staging.getMappedRange(0, total);
        data = src ? range.slice(0, bytes) : null;
        if (flags) words = new Uint32Array(range.slice(total - FLAG_BYTES, total));
        staging.unmap();
        this.host.releaseBuffer(staging);
      } catch (e) {
        if (await this.host.lostAfterFailure()) this.host.checkLost();
        mapFailure = e;
        // Possibly an invalid buffer (out of memory): do not hand it out again.
        pool.discard(staging);
      }
    }
    this.host.checkLost();
    const gpuError = await gpuErrors.take();
    // A destroyed or lost device fails the calls made on it: report the loss, not its symptoms.
    if (gpuError && (await this.host.lostAfterFailure())) this.host.checkLost();
    if (gpuError) throw gpuError;
    if (mapFailure) {
      const e = mapFailure as Error;
      throw new GpuError(
        'internal',
        `${e?.name ?? 'Error'} ${e?.message ?? String(e)}`,
        `while reading ${what} back`,
      );
    }
    const flagged = words && flagError(words);
    if (flagged) throw flagged;
    return data;
  }

  /** Frees the flag buffer. */
  destroy(): void {
    this.flags?.destroy();
  }
}
