/** What the live training loops share: their options, the page's hooks, and the pause between steps. */
import type { Engine } from '../src/runtime/engine.js';
import type { HeatmapData } from './charts.js';

export interface LiveOptions {
  epochs: number;
  seed: number;
  /** Corpus text (`English<TAB>French` lines) for the translation models. */
  corpus: string;
  corpusName: string;
  /** d2l's num_examples: pairs read from the corpus (numExamples + 1, d2l's off-by-one). */
  numExamples: number;
}

export interface LiveHooks {
  /** Polled before every step: true ends the run (resources freed) as soon as the step in flight is done. */
  stopped(): boolean;
  onEpoch(epoch: number, loss: number, note: string): Promise<void> | void;
  onHeatmap(map: HeatmapData): Promise<void> | void;
}

/**
 * Lets the GPU catch up and the page repaint: waits for the submitted work (so Stop never has a long queue
 * behind it), then yields a macrotask so input events and rendering run between steps.
 */
export async function pace(e: Engine): Promise<void> {
  await e.sync();
  await new Promise((r) => setTimeout(r, 0));
}
