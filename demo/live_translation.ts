/**
 * Live English → French training for the demo: d2l's Bahdanau seq2seq (§10.4) or Transformer (§10.7) on the
 * corpus text the page holds (its bundled sample or a dropped file), with `train_seq2seq`'s step (teacher
 * forcing, masked cross-entropy summed over the batch, gradient clipping at 1, Adam lr 0.005) as in
 * src/train/trainer.ts. After every epoch it greedily translates one sentence and plots the decoder's attention
 * over the source (for the Transformer: the last block's decoder-encoder attention, averaged over heads).
 */
import {
  Adam,
  backward,
  buildTransformer,
  clipGradNorm,
  type EncoderDecoder,
  engine,
  manualSeed,
  maskedSoftmaxCELoss,
  nmtData,
  predictSeq2Seq,
  preprocessNmt,
  Random,
  seq2seqAttention,
  sum,
  tokenizeNmt,
  type Transformer,
} from '../src/browser.js';
import {
  D2L_TRANSFORMER_CONFIG,
  type NmtData,
  teacherForcingInput,
  transformerAttentionHeatmaps,
} from '../src/internal.js';
import type { HeatmapData } from './charts.js';
import type { LiveOptions, LiveSession } from './live_common.js';

type Model = EncoderDecoder<unknown, unknown>;

/** d2l's `load_data_nmt(batch_size=64, num_steps=10)`. */
const BATCH_SIZE = 64;
const NUM_STEPS = 10;

/** d2l's last test sentence when the corpus covers its words, else the corpus's first source sentence. */
function probeSentence(data: NmtData, firstSource: string[]): string {
  const d2l = "i'm home .";
  const known = d2l.split(' ').every((w) => data.srcVocab.index(w) !== data.srcVocab.unk);
  return known ? d2l : firstSource.join(' ');
}

/** The decoder's attention while translating `source`: rows emitted tokens (then `<eos>`), columns source tokens. */
async function attentionMap(
  kind: 'bahdanau' | 'transformer',
  model: Model,
  data: NmtData,
  source: string,
  when: string,
): Promise<HeatmapData> {
  const srcTokens = [...source.split(' '), '<eos>'].slice(0, NUM_STEPS);
  let translation: string;
  let values: number[][];
  if (kind === 'bahdanau') {
    const p = await predictSeq2Seq(model, source, data.srcVocab, data.tgtVocab, NUM_STEPS, {
      saveAttentionWeights: true,
    });
    translation = p.translation;
    values = p.attentionWeights!;
  } else {
    const net = model as unknown as Transformer;
    net.encoder.captureWeights = net.decoder.captureWeights = true;
    net.decoder.clearRecorded();
    try {
      translation = (await predictSeq2Seq(net, source, data.srcVocab, data.tgtVocab, NUM_STEPS)).translation;
      const heads = (await transformerAttentionHeatmaps(net)).decoderCross.at(-1)!;
      values = heads[0].map((row, i) =>
        row.map((_, j) => heads.reduce((s, h) => s + h[i][j], 0) / heads.length),
      );
    } finally {
      net.encoder.captureWeights = net.decoder.captureWeights = false;
      net.decoder.clearRecorded();
    }
  }
  const outTokens = [...(translation ? translation.split(' ') : []), '<eos>'].slice(0, values.length);
  return {
    title: `"${source}" → "${translation}" (${when})`,
    // Keys past the source's valid length are masked (weight 0): leave them out.
    values: values.map((r) => r.slice(0, srcTokens.length)),
    xLabels: srcTokens,
    yLabels: outTokens,
    xTitle: 'source tokens (keys)',
    yTitle: 'emitted tokens (queries)',
  };
}

/**
 * A translation model on the page's corpus: the pairs fix the vocabularies, so loaded weights fit only a model
 * built on the corpus and number of pairs they were trained on.
 * @throws Error for an empty corpus, or as tokenizeNmt for a malformed line.
 */
export function translationSession(
  kind: 'bahdanau' | 'transformer',
  { seed, corpus, corpusName, numExamples }: Omit<LiveOptions, 'weights'>,
): LiveSession {
  if (!corpus.trim()) throw new Error('no corpus: drop a fra.txt-style file (English<TAB>French lines)');
  const pairs = tokenizeNmt(preprocessNmt(corpus), { numExamples, name: corpusName });
  const data = nmtData(pairs, { batchSize: BATCH_SIZE, numSteps: NUM_STEPS, seed });
  const source = probeSentence(data, pairs.source[0]);
  manualSeed(seed);
  const rng = new Random(seed);
  const [srcSize, tgtSize] = [data.srcVocab.size, data.tgtVocab.size];
  const model = (
    kind === 'bahdanau'
      ? seq2seqAttention({ srcVocabSize: srcSize, tgtVocabSize: tgtSize, rng })
      : buildTransformer(D2L_TRANSFORMER_CONFIG, srcSize, tgtSize, rng)
  ) as Model;
  const e = engine();
  const params = model.parameters();
  const opt = new Adam(params, { lr: 0.005 });
  const bos = data.tgtVocab.index('<bos>');
  model.train();
  return {
    net: model,
    *epoch() {
      for (const batch of data.batches()) {
        const b = batch.size;
        const inputs = [
          e.fromArray(batch.X, [b, NUM_STEPS], 'int32'),
          e.fromArray(batch.XValidLen, [b], 'int32'),
          e.fromArray(teacherForcingInput(batch.Y, b, NUM_STEPS, bos), [b, NUM_STEPS], 'int32'),
          e.fromArray(batch.Y, [b, NUM_STEPS], 'int32'),
        ];
        const [X, XValidLen, decX, Y] = inputs;
        try {
          const loss = e.tidy(() => {
            opt.zeroGrad();
            const l = sum(maskedSoftmaxCELoss(model.forward(X, decX, XValidLen), Y, batch.YValidLen));
            backward(l);
            clipGradNorm(params, 1).dispose();
            opt.step();
            return l;
          });
          // Summed over the batch's valid target tokens: the epoch's loss is per token, as d2l's.
          yield { loss, count: batch.YValidLen.reduce((a, n) => a + n, 0) };
        } finally {
          for (const t of inputs) t.dispose();
        }
      }
    },
    note: () => `${data.size} pairs, vocab ${srcSize}/${tgtSize}`,
    heatmap: (when) => attentionMap(kind, model, data, source, when),
    dispose() {
      opt.zeroGrad();
      opt.dispose();
      model.dispose();
    },
  };
}
