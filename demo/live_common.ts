/**
 * What the live training loops share: their options, the hooks of `trainLive`, the per-model session that the
 * library's loop drives (src/worker/session.ts: in the page's training worker, or in this thread), and the weights
 * read back from a model.
 */
import type { Module, NamedArray, TrainingSession } from '../src/browser.js';
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

/**
 * One model with its data and optimiser on the current engine: one optimiser step per iteration of `epoch()`, a
 * note for the log after each epoch, and the heatmap of the current weights, whose title `when` ends (`after
 * epoch 3`, `of the loaded weights`).
 */
export interface LiveSession extends TrainingSession<HeatmapData> {
  note(): Promise<string> | string;
  heatmap(when: string): Promise<HeatmapData>;
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
