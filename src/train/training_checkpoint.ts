/**
 * A training checkpoint: everything a trainer needs to continue a run exactly where it stopped, as one safetensors
 * file (./safetensors.ts). Tensors: the model's (`model.<state_dict name>`) and the optimizer's
 * (`optimizer.<parameter index>.<name>`, PyTorch's names: `exp_avg`, `exp_avg_sq`, `momentum_buffer`).
 * `__metadata__.training` holds the JSON {@link TrainingState}: the trainer, the position (epoch, batches done in
 * it, global step), the optimizer's step count, the random streams' states and what the trainer has recorded so
 * far. PyTorch's `safetensors.torch.load_file` reads the tensors; `json.loads(metadata['training'])` the rest.
 */
import type { RandomState } from '../runtime/random.js';
import type { Module } from '../nn/module.js';
import type { Optimizer, OptimizerState } from '../optim/optimizer.js';
import { CheckpointError } from '../runtime/errors.js';
import { decodeSafetensors, encodeSafetensors, readTensors } from './safetensors.js';

/** The metadata key of the JSON state. */
const STATE_KEY = 'training';
const FORMAT = 'webgpu-attention training checkpoint 1';

export interface TrainingState<P = unknown> {
  /** The trainer that wrote it (`trainSeq2Seq`, `trainClsMlp`, `trainNadarayaWatson`). */
  trainer: string;
  /** The 1-based epoch the run is in. */
  epoch: number;
  /** Batches of `epoch` already trained on. */
  batch: number;
  /** Optimizer steps taken over the whole run. */
  step: number;
  /** The optimizer's step count t (Adam's bias corrections). */
  optimizerStep: number;
  /** Random streams by name, as they are now. */
  rngs: Record<string, RandomState>;
  /** The data shuffle stream as it was when `epoch` began, so the epoch's batch order is drawn again. */
  dataRng?: RandomState;
  /** What the trainer recorded so far (losses, partial sums), for its result. */
  progress: P;
}

/** Reads the model's and optimizer's tensors back and packs them with `state`. */
export async function encodeTrainingCheckpoint(
  model: Module,
  optimizer: Optimizer,
  state: Omit<TrainingState, 'optimizerStep'>,
): Promise<Uint8Array> {
  const tensors = await readTensors(model, 'model.');
  const opt = await optimizer.stateDict();
  for (const [name, value] of Object.entries(opt.tensors)) tensors[`optimizer.${name}`] = value;
  const full: TrainingState = { ...state, optimizerStep: opt.step };
  return encodeSafetensors(tensors, { format: FORMAT, [STATE_KEY]: JSON.stringify(full) });
}

const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

/**
 * Unpacks a checkpoint of `trainer` and loads it into `model` and `optimizer` (built as for the run that wrote it).
 * @returns the state; the caller restores its random streams and position from it.
 * @throws CheckpointError naming `location` (and the field) when the bytes are not a valid safetensors file,
 *   carry no training state, were written by another trainer, or hold tensors that do not fit the model or the
 *   optimizer; the model and optimizer are unchanged then.
 */
export function restoreTrainingCheckpoint<P>(
  bytes: Uint8Array,
  location: string,
  trainer: string,
  model: Module,
  optimizer: Optimizer,
): TrainingState<P> {
  const { metadata, tensors } = decodeSafetensors(bytes, location);
  const fail = (detail: string, field?: string) => new CheckpointError(location, detail, field);
  if (metadata.format !== FORMAT)
    throw fail(
      `not a training checkpoint (format ${JSON.stringify(metadata.format)})`,
      '__metadata__.format',
    );
  let state: TrainingState<P>;
  try {
    state = JSON.parse(metadata[STATE_KEY]) as TrainingState<P>;
  } catch (e) {
    throw fail(`not valid JSON (${(e as Error).message})`, `__metadata__.${STATE_KEY}`);
  }
  if (state?.trainer !== trainer)
    throw fail(`written by ${JSON.stringify(state?.trainer)}, cannot resume ${trainer}`, 'trainer');
  for (const field of ['epoch', 'batch', 'step', 'optimizerStep'] as const)
    if (!isCount(state[field]) || (field === 'epoch' && state.epoch < 1))
      throw fail(`must be a non-negative integer, got ${JSON.stringify(state[field])}`, field);
  const weights: Record<string, Float32Array> = {};
  const opt: OptimizerState = { step: state.optimizerStep, tensors: {} };
  for (const [name, { shape, data }] of Object.entries(tensors)) {
    if (name.startsWith('model.')) weights[name.slice(6)] = data;
    else if (name.startsWith('optimizer.')) opt.tensors[name.slice(10)] = { shape, data };
    else throw fail('neither a model. nor an optimizer. tensor', name);
  }
  // Checked before anything is loaded: the optimizer checks its entries itself before it takes them.
  for (const [name, t] of model.namedTensors()) {
    if (!weights[name]) throw fail('missing, and the model has it', `model.${name}`);
    if (weights[name].length !== t.numel())
      throw fail(
        `${weights[name].length} values, the model's (${t.shape.join(', ')}) tensor needs ${t.numel()}`,
        `model.${name}`,
      );
  }
  try {
    optimizer.loadStateDict(opt);
  } catch (e) {
    throw fail(`does not fit the optimizer: ${(e as Error).message}`);
  }
  model.loadStateDict(weights);
  return state;
}
