/**
 * Scratch `rgba32float` storage textures that kernels read operands from after a copy (matmul_texture.wgsl: on
 * lavapipe a texel fetch costs a quarter of a storage-buffer gather). One texture per named slot, grown to the
 * largest size asked of it and reused by every later dispatch: the copies and dispatches of one submit run in order,
 * so the next product overwriting a slot cannot disturb the previous one's reads. A texture outgrown is destroyed
 * after the submit that may still read it; `engine.pool.trim()` empties the slots.
 */
export type TextureSize = [width: number, height: number, layers: number];

const RGBA32F_BYTES = 16;
// STORAGE_BINDING | COPY_DST, without needing the GPUTextureUsage global.
const USAGE = 0x08 | 0x02;

export class ScratchTextures {
  private readonly slots = new Map<string, { texture: GPUTexture; size: TextureSize }>();
  private outgrown: GPUTexture[] = [];

  constructor(private readonly device: GPUDevice) {}

  /**
   * The slot's texture, at least `size` (texels, rows, array layers); a larger one than asked when the slot held one
   * before. `size` must fit the device's texture limits (the caller checks).
   */
  get(slot: string, size: TextureSize): GPUTexture {
    const held = this.slots.get(slot);
    if (held && size.every((d, i) => d <= held.size[i])) return held.texture;
    const grown = size.map((d, i) => Math.max(d, held?.size[i] ?? 1)) as TextureSize;
    if (held) this.outgrown.push(held.texture);
    const texture = this.device.createTexture({
      label: `scratch ${slot}`,
      size: grown,
      format: 'rgba32float',
      usage: USAGE,
    });
    this.slots.set(slot, { texture, size: grown });
    return texture;
  }

  /** Bytes held by the slots' textures. */
  get bytes(): number {
    let n = 0;
    for (const { size } of this.slots.values()) n += size[0] * size[1] * size[2] * RGBA32F_BYTES;
    return n;
  }

  /** Called after each submit: the outgrown textures' last readers are now queued ahead of their destruction. */
  submitted(): void {
    for (const t of this.outgrown) t.destroy();
    this.outgrown = [];
  }

  /**
   * Empties every slot: its texture is destroyed now when `idle` (no recorded dispatch may read it), else after the
   * next submit. The next `get` creates the slot afresh.
   */
  release(idle: boolean): void {
    for (const { texture } of this.slots.values()) this.outgrown.push(texture);
    this.slots.clear();
    if (idle) this.submitted();
  }

  /** Destroys every texture (engine teardown). */
  destroy(): void {
    this.submitted();
    for (const { texture } of this.slots.values()) texture.destroy();
    this.slots.clear();
  }
}
