/**
 * English → French translation on d2l's slice of the fra-eng corpus (600 examples, batches of 64, 10 steps), as
 * d2l 0.17 §10.4 "Bahdanau Attention" trains it: train, translate d2l's four sentences greedily, score them with
 * BLEU (k = 2), plot the loss and the attention over the last sentence, and save a checkpoint. The architecture
 * comes from {@link TRANSLATION_MODELS}, so the Transformer plugs in beside the Bahdanau model. Beyond d2l, the run
 * can take more of the corpus and hold out a validation split, reporting its loss per epoch and its BLEU.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Random } from '../runtime/random.js';
import { DEFAULT_NUM_EXAMPLES } from '../data/fra_eng.js';
import { SHARED_FRA_TXT, readFraEng } from '../data/fra_eng_file.js';
import { nmtData } from '../data/translation_arrays.js';
import type { Vocab } from '../data/vocab.js';
import type { EncoderDecoder } from '../models/encoder_decoder.js';
import { seq2seqAttention, type Cell } from '../models/seq2seq.js';
import { D2L_TRANSFORMER_CONFIG, buildTransformer } from '../models/transformer.js';
import { transformerPlots } from './transformer_plots.js';
import { heatmap, lineChart } from '../plot/index.js';
import { CheckpointError } from '../runtime/errors.js';
import { CONFIG_FILE, saveCheckpoint, type CheckpointConfig } from '../train/checkpoint.js';
import { D2L_TEST_PAIRS, evaluateBleu } from '../train/predict.js';
import { trainSeq2Seq } from '../train/trainer.js';

/** d2l 0.17 §10.7's training settings for the fra-eng Transformer (its printed final loss is about 0.03). */
export const D2L_TRANSFORMER_TRAINING = { batchSize: 64, numSteps: 10, lr: 0.005, epochs: 200 } as const;

/** Any encoder-decoder, whatever its encoder output and decoder state types. */
export type TranslationModel = EncoderDecoder<unknown, unknown>;

/** How to build and train one architecture. */
export interface TranslationModelSpec {
  /** d2l's training settings for it. */
  lr: number;
  epochs: number;
  /** Architecture hyperparameters (saved in config.json and passed back to `build`). */
  hyperparameters: Record<string, number>;
  /** A fresh model for the vocabularies; `config` holds the hyperparameters (from the defaults or a checkpoint). */
  build(config: CheckpointConfig, srcVocab: Vocab, tgtVocab: Vocab, rng?: Random): TranslationModel;
  /**
   * Extra pictures after training and evaluation (the Transformer's per-head heatmaps, say); returns their paths.
   * The attention heatmap of decoders that record d2l's per-step weights (Bahdanau) is drawn without it.
   */
  plots?: (model: TranslationModel, context: PlotContext) => Promise<string[]>;
}

/** What a {@link TranslationModelSpec.plots} hook gets. */
export interface PlotContext {
  name: string;
  outDir: string;
  srcVocab: Vocab;
  tgtVocab: Vocab;
  numSteps: number;
}

/**
 * Hyperparameter `key` of a configuration: a positive integer (`'count'`) or a dropout probability in [0, 1).
 * @throws CheckpointError naming `config.json` and the field when it is missing or invalid (loadModel adds the
 *   directory), so a corrupt checkpoint does not fail deep inside a layer's constructor.
 */
function hyper(config: CheckpointConfig, key: string, kind: 'count' | 'probability'): number {
  const v = config[key];
  const ok = typeof v === 'number' && (kind === 'count' ? Number.isInteger(v) && v >= 1 : v >= 0 && v < 1);
  if (!ok)
    throw new CheckpointError(
      CONFIG_FILE,
      `must be ${kind === 'count' ? 'a positive integer' : 'a probability in [0, 1)'}, got ${JSON.stringify(v)}`,
      key,
    );
  return v as number;
}

/** d2l 0.17 §10.4's Bahdanau settings with the given recurrent cell; the cell is fixed by the registry name. */
function bahdanauSpec(cell: Cell): TranslationModelSpec {
  return {
    lr: 0.005,
    epochs: 250,
    hyperparameters: { embedSize: 32, numHiddens: 32, numLayers: 2, dropout: 0.1 },
    build: (config, srcVocab, tgtVocab, rng) =>
      seq2seqAttention({
        srcVocabSize: srcVocab.size,
        tgtVocabSize: tgtVocab.size,
        embedSize: hyper(config, 'embedSize', 'count'),
        numHiddens: hyper(config, 'numHiddens', 'count'),
        numLayers: hyper(config, 'numLayers', 'count'),
        dropout: hyper(config, 'dropout', 'probability'),
        cell,
        rng,
      }) as TranslationModel,
  };
}

/** The architectures `runTranslation` and the translate CLI know, by the name stored in checkpoints. */
export const TRANSLATION_MODELS = {
  /** d2l 0.17 §10.4: embed 32, hidden 32, 2 GRU layers, dropout 0.1, lr 0.005, 250 epochs. */
  bahdanau: bahdanauSpec('gru'),
  /** The same with 2 LSTM layers, as the older course variant of this model; d2l's training settings. */
  bahdanau_lstm: bahdanauSpec('lstm'),
  /** d2l 0.17 §10.7: 32 wide, 2 blocks, 4 heads, FFN 64, dropout 0.1, lr 0.005, 200 epochs. */
  transformer: {
    lr: D2L_TRANSFORMER_TRAINING.lr,
    epochs: D2L_TRANSFORMER_TRAINING.epochs,
    hyperparameters: {
      numHiddens: D2L_TRANSFORMER_CONFIG.numHiddens,
      numBlks: D2L_TRANSFORMER_CONFIG.numBlks,
      dropout: D2L_TRANSFORMER_CONFIG.dropout,
      ffnNumHiddens: D2L_TRANSFORMER_CONFIG.ffnNumHiddens,
      numHeads: D2L_TRANSFORMER_CONFIG.numHeads,
    },
    build: (config, srcVocab, tgtVocab, rng) =>
      buildTransformer(
        {
          numHiddens: hyper(config, 'numHiddens', 'count'),
          numBlks: hyper(config, 'numBlks', 'count'),
          dropout: hyper(config, 'dropout', 'probability'),
          ffnNumHiddens: hyper(config, 'ffnNumHiddens', 'count'),
          numHeads: hyper(config, 'numHeads', 'count'),
        },
        srcVocab.size,
        tgtVocab.size,
        rng,
      ) as TranslationModel,
    plots: transformerPlots,
  },
} satisfies Record<string, TranslationModelSpec>;

export type TranslationModelName = keyof typeof TRANSLATION_MODELS;

/** @throws Error naming the known architectures when `name` is not one. */
export function translationModel(name: string): TranslationModelSpec {
  const spec = Object.hasOwn(TRANSLATION_MODELS, name)
    ? (TRANSLATION_MODELS as Record<string, TranslationModelSpec>)[name]
    : undefined;
  if (!spec)
    throw new Error(`unknown model "${name}"; expected one of ${Object.keys(TRANSLATION_MODELS).join(', ')}`);
  return spec;
}

export interface TranslationOptions {
  model: TranslationModelName;
  /** Default: the architecture's d2l setting (250 for Bahdanau). */
  epochs?: number;
  /** Where the PNGs go; the checkpoint goes under `<outDir>/checkpoints/<model>/` ({@link checkpointDir}). */
  outDir: string;
  /** Replace a checkpoint already at {@link checkpointDir} (default false: the run refuses before training). */
  overwrite?: boolean;
  /** The corpus, `English<TAB>French` lines as fra.txt (default `../shared/data/fra-eng/fra.txt`). */
  corpus?: string | URL;
  /** Seeds the initialisation, the split, the batch shuffles and the dropout masks (default 0). */
  seed?: number;
  /** d2l's num_examples: pairs read from the corpus, minus one (default 600, d2l's); Infinity for all of it. */
  numExamples?: number;
  /** Fraction of those pairs held out for validation, in [0, 1) (default 0: d2l trains on all of them). */
  validationFraction?: number;
  /**
   * Validation sentences translated for `validation_bleu` (default 100), evenly spaced over the split: fra.txt
   * runs from the shortest sentences to the longest, so its first ones would all be two or three words.
   */
  validationBleuSentences?: number;
  onEpoch?: (epoch: number, loss: number, tokensPerSecond: number, validationLoss?: number) => void;
}

/** The summary entry of one translation run. */
export interface TranslationResult {
  final_loss: number;
  /** BLEU (k = 2) per source sentence. */
  bleu: Record<string, number>;
  translations: { source: string; reference: string; translation: string; bleu: number }[];
  /** Valid target tokens per second of training, over the whole run. */
  tokens_per_second: number;
  seconds: number;
  epochs: number;
  losses: number[];
  /** Pairs trained on. */
  train_pairs: number;
  /**
   * With a validation split: its size, its loss after the last epoch and per epoch, and the mean BLEU (k = 2,
   * greedy) over `validation_bleu_sentences` of its pairs, evenly spaced.
   */
  validation_pairs?: number;
  validation_loss?: number;
  validation_losses?: number[];
  validation_bleu?: number;
  validation_bleu_sentences?: number;
  images: string[];
  checkpoint: string;
}

const NUM_STEPS = 10;

/** Where {@link runTranslation} saves model `name`'s checkpoint. */
export function checkpointDir(outDir: string, name: string): string {
  return join(outDir, 'checkpoints', name);
}

/**
 * Trains one architecture as d2l does and evaluates it. Uses the current engine.
 * @throws DivergenceError when the loss stops being finite; Error for an unknown model, or (before training) for a
 *   checkpoint already at {@link checkpointDir} without `overwrite`; RangeError for epochs that are not an integer ≥ 1.
 */
export async function runTranslation({
  model: name,
  epochs,
  outDir,
  overwrite = false,
  corpus = SHARED_FRA_TXT,
  seed = 0,
  numExamples = DEFAULT_NUM_EXAMPLES,
  validationFraction = 0,
  validationBleuSentences = 100,
  onEpoch,
}: TranslationOptions): Promise<TranslationResult> {
  const spec: TranslationModelSpec = translationModel(name);
  if (epochs !== undefined && !(Number.isSafeInteger(epochs) && epochs >= 1))
    throw new RangeError(`runTranslation: epochs must be an integer >= 1, got ${epochs}`);
  const checkpoint = checkpointDir(outDir, name);
  if (!overwrite && existsSync(checkpoint))
    throw new Error(`runTranslation: ${checkpoint} exists; pass overwrite: true to replace it`);
  // Read here rather than through loadDataNmt: the validation BLEU needs the held-out sentences themselves.
  const pairs = await readFraEng(corpus, { numExamples });
  const data = nmtData(pairs, { batchSize: 64, numSteps: NUM_STEPS, seed, validationFraction });
  const validation = data.validation;
  const config: CheckpointConfig = { model: name, numSteps: NUM_STEPS, ...spec.hyperparameters };
  const net = spec.build(config, data.srcVocab, data.tgtVocab, new Random(seed));
  try {
    const run = await trainSeq2Seq(net, data, {
      lr: spec.lr,
      epochs: epochs ?? spec.epochs,
      seed,
      name,
      validation,
      onEpoch,
    });
    // The tokens are preprocessed already, so joining them is the sentence predictSeq2Seq expects.
    const held = validation?.indices ?? [];
    const m = Math.min(validationBleuSentences, held.length);
    const heldOut = Array.from({ length: m }, (_, j) => held[Math.floor((j * held.length) / m)]).map(
      (i) => [pairs.source[i].join(' '), pairs.target[i].join(' ')] as const,
    );
    const validationBleu = heldOut.length
      ? (await evaluateBleu(net, data.srcVocab, data.tgtVocab, NUM_STEPS, { pairs: heldOut })).reduce(
          (acc, r) => acc + r.bleu,
          0,
        ) / heldOut.length
      : undefined;
    const results = await evaluateBleu(net, data.srcVocab, data.tgtVocab, NUM_STEPS, {
      pairs: D2L_TEST_PAIRS,
      saveAttentionWeights: true,
    });
    const images = [
      await lineChart(join(outDir, `${name}_loss.png`), {
        title: `${name}: loss (masked cross-entropy per token)`,
        xLabel: 'epoch',
        yLabel: 'loss',
        series: [
          { name: 'training', x: run.losses.map((_, i) => i + 1), y: run.losses },
          ...(run.validationLosses
            ? [{ name: 'validation', x: run.validationLosses.map((_, i) => i + 1), y: run.validationLosses }]
            : []),
        ],
      }),
    ];
    // d2l plots the attention of the last sentence, over its valid source positions.
    const last = results.at(-1)!;
    if (last.attentionWeights?.length) {
      const keys = [...last.source.split(' '), '<eos>'].slice(0, NUM_STEPS);
      images.push(
        await heatmap(join(outDir, `${name}_attention.png`), {
          title: `${name}: attention while translating "${last.source}"`,
          xLabel: 'Key positions (source tokens)',
          yLabel: 'Query positions (emitted tokens)',
          values: last.attentionWeights.map((row) => row.slice(0, keys.length)),
          xTicks: keys,
          yTicks: [...last.translation.split(' ').filter(Boolean), '<eos>'].slice(
            0,
            last.attentionWeights.length,
          ),
        }),
      );
    }
    if (spec.plots)
      images.push(
        ...(await spec.plots(net, {
          name,
          outDir,
          srcVocab: data.srcVocab,
          tgtVocab: data.tgtVocab,
          numSteps: NUM_STEPS,
        })),
      );
    await saveCheckpoint(checkpoint, net, { srcVocab: data.srcVocab, tgtVocab: data.tgtVocab, config });
    const translations = results.map(({ source, reference, translation, bleu }) => ({
      source,
      reference,
      translation,
      bleu,
    }));
    return {
      final_loss: run.losses.at(-1)!,
      bleu: Object.fromEntries(translations.map((t) => [t.source, t.bleu])),
      translations,
      tokens_per_second: run.tokensPerSecond,
      seconds: run.seconds,
      epochs: run.losses.length,
      losses: run.losses,
      train_pairs: data.size,
      ...(validation && {
        validation_pairs: validation.size,
        validation_loss: run.validationLosses!.at(-1)!,
        validation_losses: run.validationLosses!,
        validation_bleu: validationBleu,
        validation_bleu_sentences: heldOut.length,
      }),
      images,
      checkpoint,
    };
  } finally {
    net.dispose();
  }
}
