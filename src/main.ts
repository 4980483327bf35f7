/**
 * The main job (`npm start`): trains the seed models on WebGPU with a progress bar, then the same runs on the CPU
 * reference to check agreement, and writes plots and `results/summary.json`.
 *
 *   npm start -- [--device webgpu|cpu] [--seed N] [--out DIR] [--no-cpu-check]
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import cliProgress from 'cli-progress';
import { trainClsMlp, type ClsMlpResult } from './experiments/cls_mlp.js';
import { trainNadarayaWatson, type NwResult } from './experiments/nadaraya_watson.js';
import { plotClsMlp, plotNadarayaWatson } from './experiments/plots.js';
import { manualSeed } from './nn/init.js';
import type { Backend, Engine } from './runtime/engine.js';
import { init } from './runtime/global.js';

const { values: args } = parseArgs({
  options: {
    device: { type: 'string', default: 'webgpu' },
    seed: { type: 'string', default: '0' },
    out: { type: 'string', default: 'results' },
    'no-cpu-check': { type: 'boolean', default: false },
  },
});
const device = args.device as Backend;
if (device !== 'webgpu' && device !== 'cpu') throw new Error(`--device must be webgpu or cpu, got "${args.device}"`);
const seed = Number(args.seed);
const out = args.out!;

interface Run {
  engine: Engine;
  nw: NwResult;
  mlp: ClsMlpResult;
}

async function run(backend: Backend, showProgress: boolean): Promise<Run> {
  const engine = await init(backend);
  manualSeed(seed);
  const label = backend === 'webgpu' ? 'WebGPU' : 'CPU reference';
  const bars = new cliProgress.MultiBar(
    { format: `{model} [{bar}] {value}/{total} epochs | loss {loss}`, hideCursor: true, noTTYOutput: false },
    cliProgress.Presets.shades_classic,
  );
  const log = (line: string) => (showProgress ? bars.log(`${line}\n`) : undefined);
  console.log(`\n== ${label}${backend === 'webgpu' ? ` (${describe(engine)})` : ''}`);
  const nwBar = showProgress ? bars.create(5, 0, { model: 'nadaraya_watson', loss: '-' }) : null;
  const nw = await trainNadarayaWatson({
    seed,
    onEpoch: (epoch, loss) => {
      nwBar?.update(epoch, { loss: loss.toFixed(6) });
      log(`nadaraya_watson epoch ${epoch}, loss ${loss.toFixed(6)}`);
    },
  });
  const mlpBar = showProgress ? bars.create(200, 0, { model: 'cls_mlp        ', loss: '-' }) : null;
  const mlp = await trainClsMlp({
    seed,
    onEpoch: (epoch, loss, acc) => {
      mlpBar?.update(epoch, { loss: `${loss.toFixed(4)} acc ${acc.toFixed(3)}` });
      log(`cls_mlp epoch ${epoch}, loss ${loss.toFixed(6)}, train acc ${acc.toFixed(3)}`);
    },
  });
  bars.stop();
  console.log(
    `nadaraya_watson: final loss ${nw.finalLoss.toFixed(4)}, w ${nw.w.toFixed(4)}, ${nw.seconds.toFixed(2)} s\n` +
      `cls_mlp: final loss ${mlp.finalLoss.toFixed(4)}, training accuracy ${mlp.accuracy.toFixed(3)}, ` +
      `${mlp.seconds.toFixed(2)} s`,
  );
  return { engine, nw, mlp };
}

function describe(engine: Engine): string {
  const a = engine.adapter;
  return 'vendor' in a ? [a.vendor, a.architecture, a.description, a.runtime].filter(Boolean).join(' / ') : 'cpu';
}

function relDiff(a: number, b: number): number {
  return Math.abs(a - b) / Math.max(Math.abs(b), 1e-12);
}

const main = await run(device, true);
await mkdir(out, { recursive: true });
const images = [...(await plotNadarayaWatson(main.nw, out)), ...(await plotClsMlp(main.mlp, out))];

const summary: Record<string, unknown> = {
  device,
  seed,
  adapter: main.engine.adapter,
  models: {
    nadaraya_watson: {
      final_loss: main.nw.finalLoss,
      w: main.nw.w,
      seconds: main.nw.seconds,
      losses: main.nw.losses,
    },
    cls_mlp: {
      final_loss: main.mlp.finalLoss,
      accuracy: main.mlp.accuracy,
      epochs: main.mlp.epochs,
      seconds: main.mlp.seconds,
      losses: main.mlp.losses,
      accuracies: main.mlp.accuracies,
    },
  },
  images,
  credits: 'Nadaraya-Watson and the masked-token task follow Dive into Deep Learning (d2l.ai), §10.2.',
};
main.engine.destroy();

if (!args['no-cpu-check']) {
  const other: Backend = device === 'webgpu' ? 'cpu' : 'webgpu';
  console.log(`\nChecking against the ${other === 'cpu' ? 'CPU reference' : 'WebGPU'} run with the same seed…`);
  const ref = await run(other, false);
  ref.engine.destroy();
  const tolerance = 1e-3;
  const compare = (a: number, b: number) => ({
    [device]: a,
    [other]: b,
    relative_difference: relDiff(a, b),
    within_tolerance: relDiff(a, b) <= tolerance,
  });
  const agreement = {
    tolerance,
    nadaraya_watson_final_loss: compare(main.nw.finalLoss, ref.nw.finalLoss),
    cls_mlp_final_loss: compare(main.mlp.finalLoss, ref.mlp.finalLoss),
  };
  summary.agreement = agreement;
  console.log(
    `agreement (relative difference of final losses, tolerance ${tolerance}): ` +
      `nadaraya_watson ${agreement.nadaraya_watson_final_loss.relative_difference.toExponential(2)}, ` +
      `cls_mlp ${agreement.cls_mlp_final_loss.relative_difference.toExponential(2)}`,
  );
}

await writeFile(join(out, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
console.log(`\nwrote ${join(out, 'summary.json')} and ${images.join(', ')}`);
// Dawn keeps Node alive while its instance is referenced; the engines are destroyed, so leave now.
process.exit(0);
