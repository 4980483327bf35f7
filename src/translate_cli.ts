/**
 * Translates English sentences with a saved checkpoint (greedy decoding, as d2l's `predict_seq2seq`):
 *
 *   vite-node src/translate_cli.ts -- --checkpoint results/checkpoints/bahdanau "i'm home ." ["go ." …]
 *     [--device webgpu|cpu] [--attention] [--debug]   (--debug: print stack traces of errors)
 *
 * Sentences are preprocessed as the corpus was (lowercased, a space before , . ! ?).
 */
import { parseArgs } from 'node:util';
import { installCliErrorHandlers } from './cli_error.js';
import { preprocessNmt } from './data/fra_eng.js';
import { translationModel } from './experiments/translate.js';
import type { Backend } from './runtime/engine.js';
import { init } from './runtime/global.js';
import { loadModel } from './train/checkpoint.js';
import { predictSeq2Seq } from './train/predict.js';

installCliErrorHandlers();

const { values: args, positionals } = parseArgs({
  options: {
    checkpoint: { type: 'string', default: 'results/checkpoints/bahdanau' },
    device: { type: 'string', default: 'webgpu' },
    attention: { type: 'boolean', default: false },
    debug: { type: 'boolean', default: false },
  },
  allowPositionals: true,
});
const sentences = positionals.filter((s) => s !== '--');
if (sentences.length === 0) {
  console.error('usage: vite-node src/translate_cli.ts -- --checkpoint DIR "sentence ." […]');
  process.exit(2);
}
const device = args.device as Backend;
if (device !== 'webgpu' && device !== 'cpu')
  throw new Error(`--device must be webgpu or cpu, got "${args.device}"`);

const engine = await init(device);
const { model, checkpoint } = await loadModel(args.checkpoint!, (config, src, tgt) =>
  translationModel(config.model).build(config, src, tgt),
);
for (const raw of sentences) {
  const sentence = preprocessNmt(raw.trim());
  const p = await predictSeq2Seq(
    model,
    sentence,
    checkpoint.srcVocab,
    checkpoint.tgtVocab,
    checkpoint.config.numSteps,
    {
      saveAttentionWeights: args.attention,
    },
  );
  console.log(`${sentence} => ${p.translation}`);
  if (p.attentionWeights)
    for (const row of p.attentionWeights) console.log(`  ${row.map((w) => w.toFixed(2)).join(' ')}`);
}
model.dispose();
engine.destroy();
