// The browser front end: the adapter panel, the kernel check (every registry case on WebGPU against its CPU
// reference) and the Train button (both seed models on navigator.gpu).
import { init, trainClsMlp, trainNadarayaWatson } from '../src/index.js';
import type { Engine } from '../src/runtime/engine.js';
import { checkCase, kernelCases } from './kernel_check.js';

const $ = <T extends HTMLElement>(id: string) => document.querySelector<T>(`#${id}`)!;
const log = $<HTMLPreElement>('log');
const print = (line: string) => {
  log.textContent += `${line}\n`;
};
// Yields to the event loop so the page repaints between cases.
const frame = () => new Promise((r) => setTimeout(r, 0));

let enginePromise: Promise<Engine> | null = null;
const getEngine = () => (enginePromise ??= init('webgpu'));

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
    panel.textContent = [
      `vendor ${a.vendor}, architecture ${a.architecture}, device ${a.device}, ${a.description}`,
      `features: ${a.features.join(', ') || '(none)'}`,
      `limits: ${Object.entries(a.limits)
        .map(([k, v]) => `${k}=${v}`)
        .join(', ')}`,
    ].join('\n');
  } catch (e) {
    panel.textContent = `No WebGPU adapter: ${e instanceof Error ? e.message : String(e)}`;
  }
}

async function runAll(): Promise<void> {
  const button = $<HTMLButtonElement>('runall');
  const body = $<HTMLTableSectionElement>('kernels');
  const summary = $<HTMLParagraphElement>('summary');
  button.disabled = true;
  body.textContent = '';
  summary.textContent = 'running…';
  let passed = 0;
  let failed = 0;
  try {
    const engine = await getEngine();
    for (const { op, def, index } of kernelCases()) {
      const r = await checkCase(engine, op, def, index);
      const row = body.insertRow();
      row.className = r.pass ? 'pass' : 'fail';
      const cells = [
        r.op,
        r.shapes,
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
}

async function train(): Promise<void> {
  log.textContent = '';
  try {
    await getEngine();
    const nw = await trainNadarayaWatson({
      onEpoch: (e, l) => print(`nadaraya_watson epoch ${e}, loss ${l.toFixed(4)}`),
    });
    print(`learned w = ${nw.w.toFixed(4)}`);
    const mlp = await trainClsMlp({
      onEpoch: (e, l, acc) => {
        if (e % 20 === 0) print(`cls_mlp epoch ${e}, loss ${l.toFixed(4)}, train acc ${acc.toFixed(3)}`);
      },
    });
    print(`cls_mlp training accuracy ${mlp.accuracy.toFixed(3)}`);
  } catch (e) {
    print(String(e instanceof Error ? e.message : e));
  }
}

$<HTMLButtonElement>('runall').onclick = () => void runAll();
$<HTMLButtonElement>('run').onclick = () => void train();
void showAdapter();
