/**
 * Translates English sentences with a saved checkpoint (greedy decoding, as d2l's `predict_seq2seq`):
 *
 *   vite-node src/translate_cli.ts -- --checkpoint results/checkpoints/bahdanau "i'm home ." ["go ." …]
 *     [--device webgpu|cpu] [--attention] [--debug]   (--debug: print stack traces of errors)
 *
 * Sentences are preprocessed as the corpus was (lowercased, a space before , . ! ?). The arguments are validated
 * before anything runs (src/cli_args.ts): no sentence, or no checkpoint folder, exits with status 2 and a message.
 */
import { parseOrExit, parseTranslateArgs } from './cli_args.js';
import { installCliErrorHandlers } from './cli_error.js';
import { preprocessNmt } from './data/fra_eng.js';
import { translationModel } from './experiments/translate.js';
import { init } from './runtime/global.js';
import { loadModel } from './train/checkpoint.js';
import { predictSeq2Seq } from './train/predict.js';

installCliErrorHandlers();

const args = parseOrExit(() => parseTranslateArgs(process.argv.slice(2)));
const engine = await init(args.device);
const { model, checkpoint } = await loadModel(args.checkpoint, (config, src, tgt) =>
  translationModel(config.model).build(config, src, tgt),
);
for (const raw of args.sentences) {
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
