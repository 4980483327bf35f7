/**
 * The page side of training in a Web Worker: `createTrainingWorker(worker)` wraps a worker whose module calls
 * `exposeTrainer` (src/worker/expose.ts) in a typed API: start a run with handlers for its per-step and per-epoch
 * reports, stop it, and get the trained weights back as safetensors bytes. The page's main thread only receives
 * small messages (at most one batch of step reports per frame, one report per epoch), so it stays free to draw.
 */
import { proxy, wrap, type Endpoint, type Remote } from 'comlink';
import type { MemoryStats } from '../runtime/engine.js';
import type { InitOptions } from '../runtime/global.js';
import type { ProgressListener, WorkerTrainer } from './expose.js';
import type { EpochReport, Heatmap, StepReport, TrainingJob, TrainingResult } from './session.js';

export interface TrainOptions<H = Heatmap> {
  /** Aborting stops the run after the worker's step in flight; `train` then resolves with `finished: false`. */
  signal?: AbortSignal;
  /** Every step, in order (delivered in batches of at most one per frame). */
  onStep?: (report: StepReport) => void;
  /** Every epoch that ran to its end, with the session's note and heatmap data. */
  onEpoch?: (report: EpochReport<H>) => Promise<void> | void;
}

export interface TrainingWorker<J extends TrainingJob = TrainingJob, H = Heatmap> {
  /**
   * Trains `job` in the worker, one run at a time.
   * @returns once the run has ended and every report has been handled: whether it finished, the epochs' losses and
   *   the weights (safetensors bytes).
   * @throws what the worker threw (a bad job, a lost device, a session error), or what a handler threw (which stops
   *   the run).
   */
  train(job: J, options?: TrainOptions<H>): Promise<TrainingResult>;
  /** Stops the run in progress after its step in flight; `train` resolves with the weights at that point. */
  stop(): Promise<void>;
  /** The worker engine's memory, or null before its first run. */
  memoryStats(): Promise<MemoryStats | null>;
  /** Ends the worker (a Worker; a MessagePort is closed), and with it its engine and device. */
  terminate(): void;
}

export interface TrainingWorkerOptions {
  /** How the worker creates its engine on the first run (`kernels`, `limits`); default `init()`'s. */
  engine?: InitOptions;
}

/**
 * Wraps a training worker. With a bundler, pass the Worker itself so that the bundler sees the module:
 * `createTrainingWorker(new Worker(new URL('./train.worker.ts', import.meta.url), { type: 'module' }))`; a URL
 * or string starts a module worker from that address; a MessagePort talks to `exposeTrainer` on its other end.
 */
export function createTrainingWorker<J extends TrainingJob = TrainingJob, H = Heatmap>(
  source: Worker | MessagePort | URL | string,
  { engine }: TrainingWorkerOptions = {},
): TrainingWorker<J, H> {
  const endpoint: Worker | MessagePort =
    typeof source === 'string' || source instanceof URL ? new Worker(source, { type: 'module' }) : source;
  const remote = wrap<WorkerTrainer<J, H>>(endpoint as Endpoint);
  // A worker whose module fails to load or throws at the top level never answers: its error rejects every call.
  const crashed = new Promise<never>((_, reject) => {
    if (!('terminate' in endpoint)) return;
    endpoint.addEventListener('error', (ev) => {
      const why = ev instanceof ErrorEvent ? ev.message : 'its module did not load';
      reject(new Error(`training worker failed: ${why}`));
    });
  });
  crashed.catch(() => {});
  const call = <T>(p: Promise<T>) => Promise.race([p, crashed]);
  return {
    async train(job, { signal, onStep, onEpoch } = {}) {
      // A handler that throws stops the run, and `train` rethrows it once the worker has stopped.
      let failure: { error: unknown } | null = null;
      const guard =
        <A extends unknown[]>(fn: (...args: A) => unknown) =>
        async (...args: A) => {
          if (failure) return;
          try {
            await fn(...args);
          } catch (error) {
            failure = { error };
            void remote.stop();
          }
        };
      const listener: ProgressListener<H> = {
        steps: guard((reports: StepReport[]) => {
          for (const r of reports) onStep?.(r);
        }),
        epoch: guard((report: EpochReport<H>) => onEpoch?.(report)),
      };
      const stop = () => void remote.stop();
      signal?.addEventListener('abort', stop, { once: true });
      try {
        const done = remote.train(
          // comlink's types cannot tell that a generic job is cloned as it is.
          job as Parameters<typeof remote.train>[0],
          proxy(listener) as unknown as Remote<ProgressListener<H>>,
          engine,
        );
        // Sent after the train message on the same port, so the worker sees the run before the stop.
        if (signal?.aborted) stop();
        const result = await call(done);
        if (failure) throw (failure as { error: unknown }).error;
        return result;
      } finally {
        signal?.removeEventListener('abort', stop);
      }
    },
    stop: () => call(remote.stop()),
    memoryStats: () => call(remote.memoryStats()),
    terminate() {
      if ('terminate' in endpoint) endpoint.terminate();
      else endpoint.close();
    },
  };
}
