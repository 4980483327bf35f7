/**
 * Whether an engine's device is gone — lost (`GPUDevice.lost`), destroyed by `GPUDevice.destroy()`, or given up by
 * `engine.destroy()` — and the {@link DeviceLostError} every later op throws. The first report wins: it says the most
 * about the cause.
 */
import { DeviceLostError } from './errors.js';

export class DeviceLoss {
  private lost: { reason: string; message: string } | null = null;
  /** Rejects with the {@link DeviceLostError} once the device is lost: a readback races it against its own result. */
  readonly whenLost: Promise<never>;

  constructor(private readonly device: GPUDevice | null) {
    device?.lost.then((info) => this.mark(info.reason, info.message));
    if (device) {
      // `GPUDevice.lost` settles only some time after `device.destroy()`; until then calls on the dead device would
      // run (and may crash Dawn). Knowing at once, every later op throws before touching it.
      const destroyDevice = device.destroy.bind(device);
      device.destroy = () => {
        this.mark('destroyed', 'GPUDevice.destroy() was called');
        destroyDevice();
      };
    }
    this.whenLost = device
      ? device.lost.then((info) => {
          throw new DeviceLostError(this.lost?.reason ?? info.reason, this.lost?.message ?? info.message);
        })
      : new Promise<never>(() => {});
    // Only ever raced against a readback; never a rejection nobody handles.
    this.whenLost.catch(() => {});
  }

  get isLost(): boolean {
    return this.lost !== null;
  }

  mark(reason: string, message: string): void {
    this.lost ??= { reason, message };
  }

  /** The error for the loss; null while the device lives. */
  error(): DeviceLostError | null {
    return this.lost && new DeviceLostError(this.lost.reason, this.lost.message);
  }

  /** Throws the {@link DeviceLostError} once the device is gone. */
  check(): void {
    const e = this.error();
    if (e) throw e;
  }

  /**
   * After a failed device call, whether the device is lost: `GPUDevice.lost` settles a little after the failure it
   * causes, so give it a moment before blaming the call itself.
   */
  async afterFailure(): Promise<boolean> {
    if (!this.lost && this.device)
      await Promise.race([this.device.lost, new Promise((resolve) => setTimeout(resolve, 100))]);
    return this.lost !== null;
  }
}
