/**
 * The worker side of training in a Web Worker: `exposeTrainer(createSession)` in a dedicated worker's module makes
 * a {@link WorkerTrainer} callable from the page through comlink (https://github.com/GoogleChromeLabs/comlink),
 * which src/worker/client.ts wraps. The worker holds its own engine (WebGPU works in dedicated workers), so the
 * GPU work, the readbacks and the JavaScript of every step stay off the page's main thread.
 */
import { expose, releaseProxy, transfer, type Endpoint, type Remote } from 'comlink';
import type { Engine, MemoryStats } from '../runtime/engine.js';
import { init, setEngine, type InitOptions } from '../runtime/global.js';
import {
  runTraining,
  type EpochReport,
  type StepReport,
  type TrainingJob,
  type TrainingResult,
} from './session.js';
import type { TrainingSession } from './session.js';

/** What the worker calls back on the page (a comlink proxy of the client's handlers). */
export interface ProgressListener<H> {
  /** Step reports, batched: at most one call per {@link FRAME_MS}, so a fast device does not flood the page. */
  steps(reports: StepReport[]): void;
  /** Awaited before the next epoch starts. */
  epoch(report: EpochReport<H>): Promise<void> | void;
}

/** The object a worker exposes; the page reaches it through `createTrainingWorker` (src/worker/client.ts). */
export interface WorkerTrainer<J extends TrainingJob, H> {
  /**
   * Trains one job (one run at a time); the engine is created on the first run, with `engine`.
   * @returns as runTraining; the weights' buffer is transferred. After the run, the engine's idle pooled buffers
   *   are destroyed, so the worker's GPU memory is back to its baseline.
   */
  train(job: J, listener: Remote<ProgressListener<H>>, engine?: InitOptions): Promise<TrainingResult>;
  /** Stops the run in progress after its step in flight (no-op when none). */
  stop(): void;
  /** The worker engine's memory (tensors, pooled buffers), or null before the first run created it. */
  memoryStats(): MemoryStats | null;
}

/** The shortest time between two step messages: one frame at 60 Hz. */
export const FRAME_MS = 16;

export interface ExposeOptions {
  /** Where to listen (default: the worker's global scope); a MessagePort to run the trainer in the same thread. */
  endpoint?: Endpoint;
  /** The engine to train on, instead of one `init` creates on the first run with the client's options. */
  engine?: Engine;
}

/** Batches step reports into at most one listener call per FRAME_MS; `flush` sends what is waiting now. */
function stepBatcher(send: (reports: StepReport[]) => void) {
  let waiting: StepReport[] = [];
  let timer: ReturnType<typeof setTimeout> | null = null;
  let last = -Infinity;
  const flush = () => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
    if (!waiting.length) return;
    last = performance.now();
    send(waiting);
    waiting = [];
  };
  const push = (report: StepReport) => {
    waiting.push(report);
    timer ??= setTimeout(flush, Math.max(0, last + FRAME_MS - performance.now()));
  };
  return { push, flush };
}

/**
 * Exposes a trainer in this worker: each `train(job)` builds a session with `createSession(job)` and runs it
 * (src/worker/session.ts), reporting to the page's handlers.
 * @returns the trainer, for tests that call it in the same thread.
 */
export function exposeTrainer<J extends TrainingJob, H>(
  createSession: (job: J) => TrainingSession<H> | Promise<TrainingSession<H>>,
  options: ExposeOptions = {},
): WorkerTrainer<J, H> {
  let engine: Promise<Engine> | null = options.engine ? Promise.resolve(options.engine) : null;
  let current: Engine | null = options.engine ?? null;
  let run: AbortController | null = null;
  const trainer: WorkerTrainer<J, H> = {
    async train(job, listener, engineOptions) {
      if (run) throw new Error('train: a run is in progress in this worker; stop it first');
      const abort = new AbortController();
      run = abort;
      // Every step call to the page, so that the result (on another port) is returned only once they are handled.
      const sent: Promise<unknown>[] = [];
      const steps = stepBatcher((reports) => sent.push(listener.steps(reports)));
      try {
        engine ??= init(engineOptions).catch((e: unknown) => {
          engine = null;
          throw e;
        });
        current = await engine;
        setEngine(current);
        const session = await createSession(job);
        const result = await runTraining(session, job, {
          signal: abort.signal,
          onStep: steps.push,
          // Awaited, as runTraining awaits a handler in its own thread: the page draws the epoch while the worker
          // and the GPU are idle (no competing for a CPU), and a slow page holds training back instead of queuing.
          onEpoch: async (report) => {
            steps.flush();
            await listener.epoch(report);
          },
        });
        steps.flush();
        await Promise.all(sent);
        return transfer(result, [result.weights.buffer]);
      } finally {
        steps.flush();
        run = null;
        current?.pool?.trim();
        listener[releaseProxy]();
      }
    },
    stop() {
      run?.abort();
    },
    memoryStats() {
      return current?.memoryStats() ?? null;
    },
  };
  expose(trainer, options.endpoint);
  return trainer;
}
