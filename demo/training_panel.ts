/**
 * The page's live-training panel: model and epoch pickers (validated: nothing runs on a bad value), the corpus
 * (bundled sample, credited to its source, or a file the user drops or picks), Start, Stop, switching models
 * mid-run, the Vega plots, downloading the weights of the last run and loading a weights file back. Runs train in
 * a Web Worker (./training_worker.ts) with its own engine, so this thread only draws their reports; after each run
 * the worker frees every tensor of the run and destroys its pool's idle buffers (GPU memory back to baseline).
 */
import sample from 'virtual:fra-sample';
import {
  createTrainingWorker,
  type Engine,
  type InitOptions,
  type MemoryStats,
  type TrainingWorker,
} from '../src/browser.js';
import { HeatmapChart, LossChart, type HeatmapData } from './charts.js';
import { readWholeNumber } from './form.js';
import type { LiveOptions, Weights } from './live_common.js';
import { MODELS, evaluateLive, type ModelName } from './live_training.js';
import type { DemoJob } from './training_worker.js';
import { WeightsLink, decodeWeights, encodeWeights, type WeightsMeta } from './weights.js';

const $ = <T extends HTMLElement>(id: string) => document.querySelector<T>(`#${id}`)!;
/**
 * A macrotask. The page's drawing of a run's reports is split into tasks of their own, so that none holds the main
 * thread for long (test/demo.e2e.test.ts: no task over 50 ms while the Transformer trains).
 */
const turn = () => new Promise((resolve) => setTimeout(resolve, 0));

/** The run in progress: Stop aborts it; `done` settles once everything it allocated is freed. */
interface Run {
  model: ModelName;
  abort: AbortController;
  done: Promise<void>;
}

/** The weights the page holds: the last run's, or a loaded file's (which the next run of `model` starts from). */
interface HeldWeights {
  model: ModelName;
  weights: Weights;
  meta: WeightsMeta;
  /** Loaded from a file and not trained since: the next run of `model` starts from them. */
  loaded: boolean;
}

const isModel = (name: string): name is ModelName => Object.hasOwn(MODELS, name);

export class TrainingPanel {
  private run: Run | null = null;
  private queue: Promise<void> = Promise.resolve();
  private enabled = true;
  private worker: TrainingWorker<DemoJob, HeatmapData> | null = null;
  private corpus = { text: sample.text, name: 'bundled sample', bundled: true };
  private held: HeldWeights | null = null;
  /** The heatmap last drawn (the end-to-end tests compare it before a download and after loading the file). */
  lastHeatmap: HeatmapData | null = null;
  private readonly download = new WeightsLink($<HTMLAnchorElement>('download'));
  private readonly loss = new LossChart($('lossChart'));
  private readonly heatmap = new HeatmapChart($('heatmap'));
  private readonly select = $<HTMLSelectElement>('model');
  private readonly epochs = $<HTMLInputElement>('epochs');
  private readonly status = $<HTMLParagraphElement>('status');
  private readonly log = $<HTMLPreElement>('log');

  /**
   * @param getEngine this thread's engine, which evaluates loaded weights.
   * @param workerEngine how the training worker creates its engine (the page's `?kernels=`).
   */
  constructor(
    private readonly getEngine: () => Promise<Engine>,
    private readonly workerEngine: InitOptions = {},
  ) {
    for (const [name, info] of Object.entries(MODELS)) this.select.add(new Option(info.label, name));
    this.select.onchange = () => {
      this.showModel();
      // Switching models while one trains stops it and trains the new one.
      if (this.run) void this.start();
    };
    $<HTMLButtonElement>('start').onclick = () => void this.start();
    $<HTMLButtonElement>('stop').onclick = () => void this.stop();
    for (const id of ['epochs', 'pairs']) $(id).oninput = () => this.showFormError(null);
    $<HTMLInputElement>('weightsFile').onchange = (ev) => {
      const input = ev.target as HTMLInputElement;
      const file = input.files?.[0];
      // Cleared so that picking the same file again loads it again.
      if (file) void this.loadWeights(file).finally(() => (input.value = ''));
    };
    this.setupCorpus();
    this.showModel();
    this.heatmap.clear('The heatmap appears after the first epoch.');
    // An empty loss chart until the first run. Building it now also has the JIT compile Vega's code before a run's
    // charts are built while it trains (the first chart of a page takes several times as long).
    void this.loss.reset('no run yet', 'loss', 1);
  }

  get model(): ModelName {
    return this.select.value as ModelName;
  }

  get running(): ModelName | null {
    return this.run?.model ?? null;
  }

  private print(line: string): void {
    this.log.textContent += `${line}\n`;
    this.log.scrollTop = this.log.scrollHeight;
  }

  private setStatus(text: string, state: 'idle' | 'running' | 'done' | 'stopped' | 'error'): void {
    this.status.textContent = text;
    this.status.dataset.state = state;
  }

  private showModel(): void {
    const info = MODELS[this.model];
    this.epochs.value = String(info.epochs);
    $('epochNote').textContent = `(d2l: ${info.d2lEpochs})`;
    $('corpusPanel').hidden = !info.corpus;
    this.showFormError(null);
  }

  private setupCorpus(): void {
    const info = $('corpusInfo');
    const show = () => {
      const lines = this.corpus.text ? this.corpus.text.split('\n').filter(Boolean).length : 0;
      // The bundled sample is fra-eng, whose CC-BY licence asks for the credit; a user's file is theirs.
      const source = this.corpus.bundled ? sample.source : 'your file';
      info.textContent = lines
        ? `corpus: ${this.corpus.name}, ${lines} lines (${source}); d2l trains on 600 pairs`
        : 'no corpus bundled with this build: drop a file';
    };
    const load = async (file: File) => {
      this.corpus = { text: await file.text(), name: file.name, bundled: false };
      show();
    };
    const drop = $('drop');
    drop.ondragover = (ev) => {
      ev.preventDefault();
      drop.classList.add('over');
    };
    drop.ondragleave = () => drop.classList.remove('over');
    drop.ondrop = (ev) => {
      ev.preventDefault();
      drop.classList.remove('over');
      const file = ev.dataTransfer?.files[0];
      if (file) void load(file);
    };
    $<HTMLInputElement>('file').onchange = (ev) => {
      const file = (ev.target as HTMLInputElement).files?.[0];
      if (file) void load(file);
    };
    show();
  }

  /** Stops the run in progress (if any) and waits until its memory is freed. */
  async stop(): Promise<void> {
    const run = this.run;
    if (!run) return;
    run.abort.abort();
    this.setStatus(`stopping ${run.model} after the step in flight…`, 'running');
    await run.done;
  }

  /**
   * Trains the selected model, stopping the one in progress first; resolves once the new run has started. Calls
   * are queued, so a click and a model switch in quick succession still give one run at a time.
   */
  start(): Promise<void> {
    this.queue = this.queue.then(() => this.launch()).catch((e: unknown) => this.print(String(e)));
    return this.queue;
  }

  private showFormError(message: string | null): void {
    const box = $('formError');
    box.textContent = message ?? '';
    box.hidden = message === null;
  }

  /** The form's values, or null (and the message shown) when one is not valid. */
  private readForm(): { epochs: number; numExamples: number } | null {
    const max = Number(this.epochs.max) || Infinity;
    const epochs = readWholeNumber(this.epochs.value, 'epochs', 1, max);
    const pairs = readWholeNumber($<HTMLInputElement>('pairs').value, 'pairs', 1);
    const bad = 'error' in epochs ? epochs : 'error' in pairs && MODELS[this.model].corpus ? pairs : null;
    this.epochs.setAttribute('aria-invalid', String('error' in epochs));
    if (bad) {
      this.showFormError(`${bad.error}: nothing started.`);
      return null;
    }
    this.showFormError(null);
    return { epochs: (epochs as { value: number }).value, numExamples: 'value' in pairs ? pairs.value : 200 };
  }

  private options(epochs: number, numExamples: number): LiveOptions {
    return { epochs, seed: 0, corpus: this.corpus.text, corpusName: this.corpus.name, numExamples };
  }

  private async launch(): Promise<void> {
    if (!this.enabled) return this.print('the kernel check is running: start training when it is done');
    // Checked before stopping anything: a typo in the form leaves the run in progress alone.
    const form = this.readForm();
    if (!form) return;
    await this.stop();
    const model = this.model;
    const run: Run = { model, abort: new AbortController(), done: Promise.resolve() };
    this.run = run;
    $<HTMLButtonElement>('stop').disabled = false;
    run.done = this.execute(run, form.epochs, form.numExamples).finally(() => {
      if (this.run === run) this.run = null;
      $<HTMLButtonElement>('stop').disabled = this.run === null;
    });
  }

  /**
   * Loads a weights file into the model it names (or the selected one): draws the model's heatmap with them, offers
   * them for download, and the next run of that model starts from them. Queued like Start, after stopping a run.
   */
  loadWeights(file: File): Promise<void> {
    this.queue = this.queue.then(() => this.loadNow(file)).catch((e: unknown) => this.print(String(e)));
    return this.queue;
  }

  private async loadNow(file: File): Promise<void> {
    if (!this.enabled) return this.print('the kernel check is running: load weights when it is done');
    await this.stop();
    const info = $('weightsInfo');
    const engine = await this.getEngine();
    try {
      const { weights, meta } = decodeWeights(new Uint8Array(await file.arrayBuffer()), file.name);
      if (meta.model && !isModel(meta.model))
        throw new Error(`${file.name} holds weights of "${meta.model}"`);
      if (meta.model) this.choose(meta.model as ModelName);
      const model = this.model;
      if (MODELS[model].corpus && meta.pairs) $<HTMLInputElement>('pairs').value = meta.pairs;
      const pairs = readWholeNumber($<HTMLInputElement>('pairs').value, 'pairs', 1);
      const options = this.options(1, 'value' in pairs ? pairs.value : 200);
      let evaluated;
      try {
        evaluated = await evaluateLive(model, options, weights);
      } catch (e) {
        const trained = meta.corpus ? ` (trained on ${meta.corpus}, ${meta.pairs} pairs)` : '';
        throw new Error(`${file.name} does not fit ${model} on the current corpus${trained}: ${String(e)}`, {
          cause: e,
        });
      }
      await this.drawHeatmap(evaluated.heatmap);
      this.hold({
        model,
        weights: evaluated.weights,
        meta: { ...meta, model, origin: `loaded from ${file.name}` },
        loaded: true,
      });
      const n = Object.keys(weights).length;
      const tensors = `${n} tensor${n === 1 ? '' : 's'}`;
      info.textContent = `${file.name}: ${tensors} of ${model}; the next run of ${model} starts from them`;
      this.print(`loaded ${model} weights from ${file.name} (${tensors})`);
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      info.textContent = `not loaded: ${msg}`;
      this.print(`weights not loaded: ${msg}`);
    } finally {
      engine.pool?.trim();
    }
  }

  private hold(held: HeldWeights): void {
    this.held = held;
    this.download.set(held.weights, held.meta);
  }

  /** The weights the page holds (the last run's, or a loaded file's), or null. */
  get weights(): { model: ModelName; weights: Weights; loaded: boolean } | null {
    return this.held;
  }

  private async drawHeatmap(map: HeatmapData): Promise<void> {
    this.lastHeatmap = map;
    await this.heatmap.draw(map);
  }

  /** Enables or disables starting runs (the kernel check disables it while it uses the engine). */
  setEnabled(on: boolean): void {
    this.enabled = on;
    $<HTMLButtonElement>('start').disabled = !on;
  }

  /** Selects `model` (its default epochs) without starting it. */
  choose(model: ModelName): void {
    this.select.value = model;
    this.showModel();
  }

  /** The training worker, started on the first run. */
  private trainer(): TrainingWorker<DemoJob, HeatmapData> {
    this.worker ??= createTrainingWorker<DemoJob, HeatmapData>(
      new Worker(new URL('./training_worker.ts', import.meta.url), { type: 'module' }),
      { engine: this.workerEngine },
    );
    return this.worker;
  }

  /** The training worker's engine memory, or null before its first run. */
  async workerMemory(): Promise<MemoryStats | null> {
    return this.worker ? this.worker.memoryStats() : null;
  }

  private async execute(run: Run, epochs: number, numExamples: number): Promise<void> {
    const { model } = run;
    const info = MODELS[model];
    try {
      // Before the first await: the status says running as soon as Start is handled.
      this.setStatus(`${model}: starting in the training worker…`, 'running');
      await this.loss.reset(info.label, info.lossLabel, epochs);
      // Loaded weights start the next run of their model, once.
      const start = this.held?.loaded && this.held.model === model ? this.held : null;
      if (start) this.print(`${model} starts from the weights ${start.meta.origin}`);
      this.heatmap.clear('The heatmap appears after the first epoch.');
      this.lastHeatmap = null;
      const started = performance.now();
      const job: DemoJob = {
        model,
        ...this.options(epochs, numExamples),
        weights: start ? encodeWeights(start.weights, start.meta) : undefined,
      };
      const result = await this.trainer().train(job, {
        signal: run.abort.signal,
        onStep: ({ epoch, batch, loss }) =>
          this.setStatus(
            `${model}: epoch ${epoch} of ${epochs}, batch ${batch}, loss ${loss.toFixed(4)}`,
            'running',
          ),
        onEpoch: async ({ epoch, loss, note, heatmap }) => {
          const s = ((performance.now() - started) / 1000).toFixed(1);
          this.print(`${model} epoch ${epoch}/${epochs}: loss ${loss.toFixed(4)}, ${note} (${s} s)`);
          this.setStatus(`${model}: epoch ${epoch} of ${epochs} done, loss ${loss.toFixed(4)}`, 'running');
          await this.loss.add(epoch, loss);
          await turn();
          await this.drawHeatmap(heatmap!);
        },
      });
      const { finished } = result;
      const { weights } = decodeWeights(result.weights, `${model}.safetensors`);
      await turn();
      const corpus = info.corpus ? { corpus: this.corpus.name, pairs: String(numExamples) } : {};
      const origin = `${start ? `${start.meta.origin}, then ` : ''}trained ${finished ? epochs : 'until stopped'}`;
      this.hold({ model, weights, meta: { model, ...corpus, origin }, loaded: false });
      const s = ((performance.now() - started) / 1000).toFixed(1);
      if (finished) this.setStatus(`${model}: done, ${epochs} epochs in ${s} s`, 'done');
      else this.setStatus(`${model}: stopped after ${s} s`, 'stopped');
      this.print(`${model} ${finished ? 'finished' : 'stopped'}`);
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      this.print(`${model} error: ${msg}`);
      this.setStatus(`${model}: error: ${msg}`, 'error');
    }
  }

  /** Ends the training worker and its engine (a later run starts a new one). */
  reset(): void {
    this.worker?.terminate();
    this.worker = null;
  }
}
