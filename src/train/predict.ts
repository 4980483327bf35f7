/**
 * Greedy decoding and BLEU evaluation, as d2l's `predict_seq2seq` and its evaluation loop (d2l 0.17 §9.7.5
 * "Prediction" and §9.7.6 "Evaluation of Predicted Sequences"; §10.7.5–6 in the newer edition).
 */
import { truncatePad } from '../data/translation_arrays.js';
import type { Vocab } from '../data/vocab.js';
import { bleu } from '../eval/bleu.js';
import type { EncoderDecoder } from '../models/encoder_decoder.js';
import { Tensor } from '../runtime/tensor.js';

/**
 * d2l's four test pairs (§9.7.6 / §10.4 "Bahdanau Attention"): English sources and their French references.
 */
export const D2L_TEST_PAIRS: readonly (readonly [string, string])[] = [
  ['go .', 'va !'],
  ['i lost .', "j'ai perdu ."],
  ["he's calm .", 'il est calme .'],
  ["i'm home .", 'je suis chez moi .'],
];

/** A decoder that records attention weights per decoded step, like d2l's `Seq2SeqAttentionDecoder`. */
export interface AttentionRecorder {
  /** One (B, 1, S) tensor per time step of the last `forward`. */
  attentionWeights: Tensor[];
}

/** Whether the decoder keeps d2l's per-step list of (B, 1, S) tensors (other layouts are not read here). */
function recordsAttention(d: unknown): d is AttentionRecorder {
  const w = (d as Partial<AttentionRecorder>).attentionWeights;
  return Array.isArray(w) && w.every((t) => t instanceof Tensor);
}

export interface PredictOptions {
  /** Collect the decoder's attention over the source at every emitted step (d2l's `save_attention_weights`). */
  saveAttentionWeights?: boolean;
}

export interface Prediction {
  /** The emitted tokens joined by spaces, `<eos>` excluded. */
  translation: string;
  /**
   * Target steps × S source positions: row i is the attention that produced token i (a final row for the step
   * that emitted `<eos>`, as d2l keeps it). Only with `saveAttentionWeights` and a decoder that records them.
   */
  attentionWeights?: number[][];
}

/**
 * d2l's `predict_seq2seq`: greedy decoding of one sentence, in eval mode and without autograd. The source is
 * lowercased, split on spaces, mapped to ids with `<eos>` appended, truncated or padded to numSteps; its valid
 * length is the token count (at most numSteps). The decoder starts from `<bos>` and is fed its own argmax until
 * it emits `<eos>` or numSteps tokens. The argmax is read back every step (decoding depends on it). The model is
 * switched back to its previous mode afterwards.
 * @param srcSentence preprocessed English, e.g. `"i'm home ."`.
 * @param numSteps T, the source length the model was trained with and the most tokens emitted.
 */
export async function predictSeq2Seq<Out, State>(
  model: EncoderDecoder<Out, State>,
  srcSentence: string,
  srcVocab: Vocab,
  tgtVocab: Vocab,
  numSteps: number,
  { saveAttentionWeights = false }: PredictOptions = {},
): Promise<Prediction> {
  const e = model.parameters()[0].engine;
  const wasTraining = model.training;
  model.eval();
  const srcTokens = [...srcVocab.toIndices(srcSentence.toLowerCase().split(' ')), srcVocab.index('<eos>')];
  const eos = tgtVocab.index('<eos>');
  const output: number[] = [];
  const attention: number[][] = [];
  try {
    await e.tidyAsync(async () => {
      const encX = e.fromArray(
        truncatePad(srcTokens, numSteps, srcVocab.index('<pad>')),
        [1, numSteps],
        'int32',
      );
      // d2l passes the untruncated length; lengths past S mask nothing, so clamping changes no weight.
      const encValidLen = e.fromArray([Math.min(srcTokens.length, numSteps)], [1], 'int32');
      const { encoder, decoder } = model;
      let state = e.noGrad(() => decoder.initState(encoder.forward(encX, encValidLen), encValidLen));
      let token = tgtVocab.index('<bos>');
      for (let step = 0; step < numSteps; step++) {
        const decX = e.fromArray([token], [1, 1], 'int32');
        const [logits, next] = e.noGrad(() => decoder.forward(decX, state));
        state = next;
        token = argmax(await logits.data());
        if (saveAttentionWeights && recordsAttention(decoder)) {
          const w = decoder.attentionWeights.at(-1);
          if (w) attention.push(Array.from(await w.data()));
        }
        if (token === eos) break;
        output.push(token);
      }
    });
  } finally {
    model.train(wasTraining);
  }
  const translation = tgtVocab.toTokens(output).join(' ');
  return saveAttentionWeights ? { translation, attentionWeights: attention } : { translation };
}

function argmax(v: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
  return best;
}

export interface BleuResult {
  source: string;
  reference: string;
  translation: string;
  bleu: number;
  attentionWeights?: number[][];
}

/**
 * d2l's evaluation loop: translates each source greedily and scores it against its reference with BLEU (k = 2
 * by default, as d2l), printing nothing.
 * @param pairs [English, French] pairs, default {@link D2L_TEST_PAIRS}.
 */
export async function evaluateBleu<Out, State>(
  model: EncoderDecoder<Out, State>,
  srcVocab: Vocab,
  tgtVocab: Vocab,
  numSteps: number,
  {
    pairs = D2L_TEST_PAIRS,
    k = 2,
    saveAttentionWeights = false,
  }: { pairs?: readonly (readonly [string, string])[]; k?: number; saveAttentionWeights?: boolean } = {},
): Promise<BleuResult[]> {
  const out: BleuResult[] = [];
  for (const [source, reference] of pairs) {
    const p = await predictSeq2Seq(model, source, srcVocab, tgtVocab, numSteps, { saveAttentionWeights });
    out.push({ source, reference, ...p, bleu: bleu(p.translation, reference, k) });
  }
  return out;
}
