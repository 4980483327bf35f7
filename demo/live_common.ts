/**
 * What the live training loops share: their options, the page's hooks, the per-model session they drive, the
 * weights read back from a model, and the pause between steps.
 */
import type { Engine, Module, NamedArray } from '../src/browser.js';
import type { HeatmapData } from './charts.js';

/** A model's tensors by `state_dict` name, on the host (what a safetensors file holds). */
export type Weights = Record<string, NamedArray>;

export interface LiveOptions {
  epochs: number;
  seed: number;
  /** Corpus text (`English<TAB>French` lines) for the translation models. */
  corpus: string;
  corpusName: string;
  /** d2l's num_examples: pairs read from the corpus (numExamples + 1, d2l's off-by-one). */
  numExamples: number;
  /** Start from these weights (a loaded file) instead of the seeded initialisation. */
  weights?: Weights;
}

export interface LiveHooks {
  /** Polled before every step: true ends the run (resources freed) as soon as the step in flight is done. */
  stopped(): boolean;
  onEpoch(epoch: number, loss: number, note: string): Promise<void> | void;
  onHeatmap(map: HeatmapData): Promise<void> | void;
}

/** One model with its data and optimiser on the current engine, driven by `trainLive` and `evaluateLive`. */
export interface LiveSession {
  readonly net: Module;
  /** Trains one epoch: its loss and a note for the log, or null when `stopped` ended it first. */
  trainEpoch(stopped: () => boolean): Promise<{ loss: number; note: string } | null>;
  /** The heatmap of the current weights; `when` ends its title (`after epoch 3`, `of the loaded weights`). */
  heatmap(when: string): Promise<HeatmapData>;
  /** Frees everything the session allocated. */
  dispose(): void;
}

/** Every tensor of `net` (parameters and buffers), read back to the host. */
export async function readWeights(net: Module): Promise<Weights> {
  const out: Weights = {};
  for (const [name, t] of net.namedTensors())
    out[name] = { shape: [...t.shape], data: Float32Array.from(await t.data()) };
  return out;
}

/** Loads `weights` into `net`. @throws Error naming the first tensor that is missing or of another size. */
export function loadWeights(net: Module, weights: Weights): void {
  net.loadStateDict(Object.fromEntries(Object.entries(weights).map(([name, { data }]) => [name, data])));
}

/**
 * Lets the GPU catch up and the page repaint: waits for the submitted work (so Stop never has a long queue
 * behind it), then yields a macrotask so input events and rendering run between steps.
 */
export async function pace(e: Engine): Promise<void> {
  await e.sync();
  await new Promise((r) => setTimeout(r, 0));
}
