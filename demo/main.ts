// The browser front end: the adapter panel, the kernel check (every registry case on WebGPU against its CPU
// reference, at a user-chosen size multiplier), the live-training panel, and `window.demo`, the hooks the
// end-to-end tests drive (memory statistics, start/stop/switch, destroying and re-creating the engine).
import { add, init, setEngine } from '../src/index.js';
import type { Engine, MemoryStats } from '../src/browser.js';
import { describeAdapter } from './adapter_panel.js';
import type { HeatmapData } from './charts.js';
import { checkGradient, hasGradientCheck } from './gradient_check.js';
import { checkCase, kernelCases } from './kernel_check.js';
import type { ModelName } from './live_training.js';
import { TrainingPanel } from './training_panel.js';

const $ = <T extends HTMLElement>(id: string) => document.querySelector<T>(`#${id}`)!;
// Yields to the event loop so the page repaints between cases.
const frame = () => new Promise((r) => setTimeout(r, 0));

let enginePromise: Promise<Engine> | null = null;
// `?kernels=software|hardware` forces a kernel set (src/runtime/kernel_set.ts); by default the adapter decides.
const kernelsParam = new URLSearchParams(location.search).get('kernels');
const kernels = kernelsParam === 'software' || kernelsParam === 'hardware' ? kernelsParam : 'auto';
const getEngine = () => (enginePromise ??= init({ kernels }));

async function showAdapter(): Promise<void> {
  const panel = $<HTMLPreElement>('adapter');
  if (!('gpu' in navigator)) {
    panel.textContent =
      'This browser has no WebGPU (navigator.gpu is missing). Try Chrome/Edge 113+ over https or localhost.';
    return;
  }
  try {
    const a = (await getEngine()).adapter;
    if (!('vendor' in a)) return;
    panel.textContent = describeAdapter(a, kernels !== 'auto');
  } catch (e) {
    panel.textContent = `No WebGPU adapter: ${e instanceof Error ? e.message : String(e)}`;
  }
}

async function runAll(): Promise<void> {
  const button = $<HTMLButtonElement>('runall');
  const body = $<HTMLTableSectionElement>('kernels');
  const summary = $<HTMLParagraphElement>('summary');
  button.disabled = true;
  // The check's tidy scopes would also collect a training step's tensors: one thing at a time on the engine.
  await panel.stop();
  panel.setEnabled(false);
  body.textContent = '';
  summary.textContent = 'running…';
  let passed = 0;
  let failed = 0;
  const scale = Number($<HTMLSelectElement>('scale').value);
  const grads = $<HTMLInputElement>('grads').checked;
  try {
    const engine = await getEngine();
    const rows = async function* () {
      for (const { op, def, index } of kernelCases()) {
        yield checkCase(engine, op, def, index, scale);
        if (grads && hasGradientCheck(def, index)) yield checkGradient(engine, op, def, index);
      }
    };
    for await (const r of rows()) {
      const row = body.insertRow();
      row.className = r.pass ? 'pass' : 'fail';
      const cells = [
        r.op,
        r.scale > 1 ? `×${r.scale}: ${r.shapes}` : r.shapes,
        r.maxAbs.toExponential(2),
        r.maxRel.toExponential(2),
        r.pass ? 'pass' : `FAIL${r.error ? `: ${r.error}` : ''}`,
        r.gpuMs.toFixed(1),
        r.cpuMs.toFixed(1),
      ];
      for (const c of cells) row.insertCell().textContent = c;
      if (r.pass) passed++;
      else failed++;
      summary.textContent = `${passed} passed, ${failed} failed`;
      await frame();
    }
    summary.textContent = `done: ${passed} passed, ${failed} failed`;
    summary.dataset.done = failed === 0 ? 'pass' : 'fail';
  } catch (e) {
    summary.textContent = `error: ${e instanceof Error ? e.message : String(e)}`;
    summary.dataset.done = 'fail';
  }
  button.disabled = false;
  panel.setEnabled(true);
}

const panel = new TrainingPanel(getEngine, { kernels });

/** What the end-to-end tests call through `page.evaluate`. */
export interface DemoHooks {
  /** GPU memory of this thread's engine and the training worker's, added up. */
  memory(): Promise<MemoryStats>;
  /** Selects `model` (switching if one trains) and starts it without waiting for the end. */
  start(model: ModelName, epochs?: number): void;
  /** Stops the run in progress and waits until its memory is freed. */
  stop(): Promise<void>;
  running(): ModelName | null;
  /**
   * Stops training, ends the training worker (and its engine), destroys this thread's engine and resolves with the
   * device's loss reason ('destroyed').
   */
  destroyEngine(): Promise<string>;
  /** Creates a fresh engine (after `destroyEngine`) and runs an op on it: [1, 2] + [3, 4]. */
  addOnNewEngine(): Promise<number[]>;
  /** The weights the page holds (the last run's, or those read back from the model a loaded file went into). */
  weights(): { model: ModelName; loaded: boolean; tensors: Record<string, number[]> } | null;
  /** The heatmap last drawn: the model's outputs on the page's probe input. */
  heatmap(): HeatmapData | null;
}

declare global {
  interface Window {
    demo: DemoHooks;
  }
}

window.demo = {
  async memory() {
    const own = (await getEngine()).memoryStats();
    const worker = await panel.workerMemory();
    if (!worker) return own;
    const keys = Object.keys(own) as (keyof MemoryStats)[];
    return Object.fromEntries(keys.map((k) => [k, own[k] + worker[k]])) as unknown as MemoryStats;
  },
  start(model, epochs) {
    panel.choose(model);
    if (epochs !== undefined) $<HTMLInputElement>('epochs').value = String(epochs);
    void panel.start();
  },
  stop: () => panel.stop(),
  running: () => panel.running,
  async destroyEngine() {
    await panel.stop();
    const engine = await getEngine();
    const lost = engine.device.lost;
    engine.destroy();
    enginePromise = null;
    setEngine(null);
    panel.reset();
    return (await lost).reason;
  },
  async addOnNewEngine() {
    const engine = await getEngine();
    const a = engine.fromArray([1, 2], [2]);
    const b = engine.fromArray([3, 4], [2]);
    const y = add(a, b);
    const out = Array.from(await y.data());
    for (const t of [a, b, y]) t.dispose();
    return out;
  },
  weights() {
    const held = panel.weights;
    if (!held) return null;
    const tensors = Object.fromEntries(Object.entries(held.weights).map(([k, v]) => [k, Array.from(v.data)]));
    return { model: held.model, loaded: held.loaded, tensors };
  },
  heatmap: () => panel.lastHeatmap,
};

$<HTMLButtonElement>('runall').onclick = () => void runAll();
void showAdapter();
