/**
 * The typed errors of the library (README "Errors"): bad input to an op, a GPU fault, a malformed checkpoint and a
 * misuse of autograd. Each carries what a caller needs to act on it besides the message.
 */
import { formatShape } from './tensor.js';

/**
 * Bad input to an op: wrong shapes or dtypes, or values out of range (a label outside [0, C), an embedding index
 * outside [0, V), a valid length that is not a non-negative integer). The message names the op and, where they
 * matter, the shapes it got, the bad value and its position.
 */
export class OpError extends Error {
  /** The op's snake_case name, as in `src/ops/registry.ts`. */
  readonly op: string;

  constructor(op: string, message: string, shapes: readonly (readonly number[])[] = []) {
    super(
      shapes.length ? `${op}: ${message} (got ${shapes.map(formatShape).join(', ')})` : `${op}: ${message}`,
    );
    this.name = 'OpError';
    this.op = op;
  }
}

/**
 * What went wrong on the GPU: `'limit'` (a tensor larger than the device allows, thrown at creation), or one of
 * WebGPU's error filters, `'validation'`, `'out-of-memory'` and `'internal'`, caught by the engine's error scopes
 * and raised at the next readback or `sync()`.
 */
export type GpuErrorKind = 'limit' | 'validation' | 'out-of-memory' | 'internal';

/**
 * A WebGPU fault. `gpuMessage` is the GPU's own text (Dawn's names the call and the object labels, e.g. the
 * kernel of a bind group); the message adds what the engine was doing when the GPU raised it. After a
 * `'validation'`, `'out-of-memory'` or `'internal'` error the work submitted with the faulty call did not run, so
 * tensors computed since the previous readback hold undefined values: recompute them.
 */
export class GpuError extends Error {
  constructor(
    readonly kind: GpuErrorKind,
    readonly gpuMessage: string,
    /** What the engine was doing: the submit and the kernels recorded before it, or the readback. */
    readonly context: string,
  ) {
    super(`WebGPU ${kind} error ${context}: ${gpuMessage.trim() || '(the GPU gave no message)'}`);
    this.name = 'GpuError';
  }
}

/**
 * A checkpoint file that does not hold what its format promises (safetensors, `vocab.json`, `config.json`).
 * `file` is the path (or name) of the file, `field` the JSON path of the bad entry when there is one.
 */
export class CheckpointError extends Error {
  constructor(
    readonly file: string,
    /** The message without the file and field. */
    readonly detail: string,
    readonly field?: string,
  ) {
    super(`${file}: ${field ? `${field}: ` : ''}${detail}`);
    this.name = 'CheckpointError';
  }
}

/**
 * A misuse of autograd that PyTorch also rejects: back-propagating twice through a graph without `retainGraph`,
 * or a `dy` whose shape is not the output's.
 */
export class AutogradError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AutogradError';
  }
}

/**
 * The engine's device is gone: WebGPU reported it lost (`GPUDevice.lost`: a driver reset, the GPU process crashing,
 * the tab moving to the background on some platforms, or `GPUDevice.destroy()`), or `engine.destroy()` was called.
 * Raised by the op, readback or training loop that runs into it, and by every later op on that engine; the
 * tensors of the engine are gone with it. Create a new engine (`init()`) and, for training, resume from the last
 * checkpoint (`resume` option of the trainers).
 */
export class DeviceLostError extends Error {
  constructor(
    /** `GPUDeviceLostReason` (`'destroyed'` or `'unknown'`). */
    readonly reason: string,
    /** WebGPU's message for the loss, or what the engine knows (`engine.destroy() was called`). */
    readonly gpuMessage: string,
  ) {
    super(
      `WebGPU device lost (${reason}): ${gpuMessage.trim() || '(the GPU gave no message)'}. This engine can run ` +
        'no more ops: create a new one with init(), and resume training from its last checkpoint',
    );
    this.name = 'DeviceLostError';
  }
}
