/**
 * GPU buffers recycled by size class so a training step allocates nothing after its first run.
 * Classes are powers of two (>= 256 bytes): at most 2× over-allocation, few distinct classes.
 */

export interface PoolStats {
  /** Buffers created by the pool and not destroyed (in use + free). */
  buffers: number;
  bytes: number;
  /** Buffers currently handed out. */
  inUse: number;
  inUseBytes: number;
  /** Highest `inUseBytes` since the last {@link BufferPool.resetPeak}. */
  peakBytes: number;
}

export function sizeClass(bytes: number): number {
  return Math.max(256, 2 ** Math.ceil(Math.log2(Math.max(1, bytes))));
}

export class BufferPool {
  private readonly free = new Map<string, GPUBuffer[]>();
  private readonly sizes = new Map<GPUBuffer, number>();
  private inUse = 0;
  private inUseBytes = 0;
  private peak = 0;
  private totalBytes = 0;
  /** Pin counts of buffers a captured graph's bind groups point at (src/runtime/capture.ts). */
  private readonly pins = new Map<GPUBuffer, number>();
  /** Pinned buffers released by their tensors: still in use (by the graph) until unpinned. */
  private readonly parked = new Set<GPUBuffer>();

  /** The largest buffer the device creates, rounded down to a multiple of 4. */
  private readonly maxSize: number;

  constructor(
    private readonly device: GPUDevice,
    maxBufferSize = Infinity,
  ) {
    this.maxSize = Math.floor(maxBufferSize / 4) * 4;
  }

  acquire(bytes: number, usage: GPUBufferUsageFlags): GPUBuffer {
    // A class past the device's limit would fail although the request itself fits: take the limit then.
    const size = Math.min(sizeClass(bytes), Math.max(this.maxSize, bytes));
    const list = this.free.get(`${usage}:${size}`);
    let buf = list?.pop();
    if (!buf) {
      buf = this.device.createBuffer({ size, usage });
      this.sizes.set(buf, size);
      this.totalBytes += size;
    }
    this.inUse++;
    this.inUseBytes += size;
    this.peak = Math.max(this.peak, this.inUseBytes);
    return buf;
  }

  release(buf: GPUBuffer): void {
    const size = this.sizes.get(buf);
    if (size === undefined) throw new Error('BufferPool.release: buffer does not belong to this pool');
    if (this.pins.has(buf)) {
      // A recorded graph still reads or writes it on replay: hand it out again only once unpinned.
      this.parked.add(buf);
      return;
    }
    this.inUse--;
    this.inUseBytes -= size;
    const key = `${buf.usage}:${size}`;
    let list = this.free.get(key);
    if (!list) this.free.set(key, (list = []));
    list.push(buf);
  }

  /** Takes an in-use buffer out of the pool and destroys it (a buffer that failed to map, say). */
  discard(buf: GPUBuffer): void {
    const size = this.sizes.get(buf);
    if (size === undefined) return;
    this.inUse--;
    this.inUseBytes -= size;
    this.totalBytes -= size;
    this.sizes.delete(buf);
    buf.destroy();
  }

  /** Keeps `buf` from being handed out again, even after its release, until as many `unpin`s. */
  pin(buf: GPUBuffer): void {
    this.pins.set(buf, (this.pins.get(buf) ?? 0) + 1);
  }

  /**
   * Drops one pin; the last one returns the buffer to the free lists if it was released meanwhile. A no-op for a
   * buffer that is not pinned (after `destroy`, say).
   */
  unpin(buf: GPUBuffer): void {
    const n = this.pins.get(buf);
    if (n === undefined) return;
    if (n > 1) return void this.pins.set(buf, n - 1);
    this.pins.delete(buf);
    if (this.parked.delete(buf)) this.release(buf);
  }

  /** Called by {@link trim} before the free buffers go: other caches of GPU memory that trimming frees too. */
  private readonly trimHooks: (() => void)[] = [];

  /** Registers `fn` to run on every {@link trim} (the dispatch queue's scratch textures). */
  onTrim(fn: () => void): void {
    this.trimHooks.push(fn);
  }

  /** Destroys the free buffers (not the ones in use), and whatever the {@link onTrim} hooks free. */
  trim(): void {
    for (const fn of this.trimHooks) fn();
    for (const list of this.free.values())
      for (const b of list.splice(0)) {
        this.totalBytes -= this.sizes.get(b)!;
        this.sizes.delete(b);
        b.destroy();
      }
  }

  resetPeak(): void {
    this.peak = this.inUseBytes;
  }

  stats(): PoolStats {
    return {
      buffers: this.sizes.size,
      bytes: this.totalBytes,
      inUse: this.inUse,
      inUseBytes: this.inUseBytes,
      peakBytes: this.peak,
    };
  }

  destroy(): void {
    for (const b of this.sizes.keys()) b.destroy();
    this.sizes.clear();
    this.free.clear();
    this.pins.clear();
    this.parked.clear();
    this.totalBytes = this.inUse = this.inUseBytes = 0;
  }
}
