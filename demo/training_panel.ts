/**
 * The page's live-training panel: model and epoch pickers, the corpus (bundled sample or a dropped file), Start,
 * Stop, switching models mid-run, the Vega plots, and the per-run cleanup that returns GPU memory to its
 * baseline (every tensor of the run freed, then the pool's idle buffers destroyed).
 */
import sample from 'virtual:fra-sample';
import type { Engine } from '../src/runtime/engine.js';
import { HeatmapChart, LossChart } from './charts.js';
import { MODELS, trainLive, type ModelName } from './live_training.js';

const $ = <T extends HTMLElement>(id: string) => document.querySelector<T>(`#${id}`)!;

/** The run in progress: Stop aborts it; `done` settles once everything it allocated is freed. */
interface Run {
  model: ModelName;
  abort: AbortController;
  done: Promise<void>;
}

/**
 * The kernels this device can compile: those whose `enable` directives name features it has (a kernel for an
 * optional feature, such as subgroups, is only dispatched on devices that have it).
 */

export class TrainingPanel {
  private run: Run | null = null;
  private queue: Promise<void> = Promise.resolve();
  private enabled = true;
  private compiled: { engine: Engine; done: Promise<void> } | null = null;
  private corpus = { text: sample.text, name: 'bundled sample' };
  private readonly loss = new LossChart($('lossChart'));
  private readonly heatmap = new HeatmapChart($('heatmap'));
  private readonly select = $<HTMLSelectElement>('model');
  private readonly epochs = $<HTMLInputElement>('epochs');
  private readonly status = $<HTMLParagraphElement>('status');
  private readonly log = $<HTMLPreElement>('log');

  constructor(private readonly getEngine: () => Promise<Engine>) {
    for (const [name, info] of Object.entries(MODELS)) this.select.add(new Option(info.label, name));
    this.select.onchange = () => {
      this.showModel();
      // Switching models while one trains stops it and trains the new one.
      if (this.run) void this.start();
    };
    $<HTMLButtonElement>('start').onclick = () => void this.start();
    $<HTMLButtonElement>('stop').onclick = () => void this.stop();
    this.setupCorpus();
    this.showModel();
    this.heatmap.clear('The heatmap appears after the first epoch.');
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
  }

  private setupCorpus(): void {
    const info = $('corpusInfo');
    const show = () => {
      const lines = this.corpus.text ? this.corpus.text.split('\n').filter(Boolean).length : 0;
      info.textContent = lines
        ? `corpus: ${this.corpus.name}, ${lines} lines (${sample.source}); d2l trains on 600 pairs`
        : 'no corpus bundled with this build: drop a file';
    };
    const load = async (file: File) => {
      this.corpus = { text: await file.text(), name: file.name };
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

  private async launch(): Promise<void> {
    if (!this.enabled) return this.print('the kernel check is running: start training when it is done');
    await this.stop();
    const model = this.model;
    const info = MODELS[model];
    const epochs = Math.max(1, Math.round(Number(this.epochs.value) || info.epochs));
    const run: Run = { model, abort: new AbortController(), done: Promise.resolve() };
    this.run = run;
    $<HTMLButtonElement>('stop').disabled = false;
    run.done = this.execute(run, epochs).finally(() => {
      if (this.run === run) this.run = null;
      $<HTMLButtonElement>('stop').disabled = this.run === null;
    });
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

  private async execute(run: Run, epochs: number): Promise<void> {
    const { model } = run;
    const info = MODELS[model];
    const engine = await this.getEngine();
    try {
      if (this.compiled?.engine !== engine) {
        // createComputePipelineAsync for every kernel, so no first step stalls on a synchronous compile. Stop
        // does not wait for it: the compile goes on in the background and the next run reuses it.
        // A warm-up only: a kernel that fails here fails again, with its message, when an op uses it.
        const done = engine.compileAll().catch((e: unknown) => console.warn(e));
        this.compiled = { engine, done };
      }
      this.setStatus('compiling pipelines…', 'running');
      const stopped = new Promise((resolve) =>
        run.abort.signal.addEventListener('abort', resolve, { once: true }),
      );
      await Promise.race([this.compiled.done, stopped]);
      if (run.abort.signal.aborted) return this.setStatus(`${model}: stopped`, 'stopped');
      await this.loss.reset(info.label, info.lossLabel);
      this.heatmap.clear('The heatmap appears after the first epoch.');
      this.setStatus(`${model}: training, epoch 1 of ${epochs}…`, 'running');
      const started = performance.now();
      const finished = await trainLive(
        model,
        {
          epochs,
          seed: 0,
          corpus: this.corpus.text,
          corpusName: this.corpus.name,
          numExamples: Math.max(1, Math.round(Number($<HTMLInputElement>('pairs').value) || 200)),
        },
        {
          stopped: () => run.abort.signal.aborted,
          onEpoch: async (epoch, loss, note) => {
            const s = ((performance.now() - started) / 1000).toFixed(1);
            this.print(`${model} epoch ${epoch}/${epochs}: loss ${loss.toFixed(4)}, ${note} (${s} s)`);
            this.setStatus(`${model}: epoch ${epoch} of ${epochs} done, loss ${loss.toFixed(4)}`, 'running');
            await this.loss.add(epoch, loss);
          },
          onHeatmap: (map) => this.heatmap.draw(map),
        },
      );
      const s = ((performance.now() - started) / 1000).toFixed(1);
      if (finished) this.setStatus(`${model}: done, ${epochs} epochs in ${s} s`, 'done');
      else this.setStatus(`${model}: stopped after ${s} s`, 'stopped');
      this.print(`${model} ${finished ? 'finished' : 'stopped'}`);
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      this.print(`${model} error: ${msg}`);
      this.setStatus(`${model}: error: ${msg}`, 'error');
    } finally {
      // The run's tensors are freed; destroy the idle pooled buffers too, so GPU memory is back to baseline.
      engine.pool?.trim();
    }
  }

  /** Forgets the compiled engine (after it is destroyed). */
  reset(): void {
    this.compiled = null;
  }
}
