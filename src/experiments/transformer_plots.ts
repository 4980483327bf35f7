/**
 * The Transformer's attention pictures (d2l §11.7.4): encoder self-attention, decoder self-attention and
 * decoder–encoder attention, one panel per head and block, while translating the last of d2l's sentences.
 */
import { join } from 'node:path';
import type { Transformer } from '../models/transformer.js';
import { heatmapGrid } from '../plot/index.js';
import { D2L_TEST_PAIRS, predictSeq2Seq } from '../train/predict.js';
import { transformerAttentionHeatmaps, type HeadGrids } from './transformer_heatmaps.js';
import type { PlotContext, TranslationModel } from './translate.js';

function panels(grids: HeadGrids) {
  return grids.flatMap((heads, blk) =>
    heads.map((values, h) => ({ title: `block ${blk} head ${h}`, values })),
  );
}

export async function transformerPlots(model: TranslationModel, ctx: PlotContext): Promise<string[]> {
  const net = model as unknown as Transformer;
  const [source] = D2L_TEST_PAIRS.at(-1)!;
  net.encoder.captureWeights = net.decoder.captureWeights = true;
  net.decoder.clearRecorded();
  try {
    await predictSeq2Seq(net, source, ctx.srcVocab, ctx.tgtVocab, ctx.numSteps);
    const maps = await transformerAttentionHeatmaps(net);
    const numHeads = maps.encoder[0]?.length ?? 1;
    const draw = (file: string, title: string, grids: HeadGrids, xLabel: string) =>
      heatmapGrid(join(ctx.outDir, file), {
        title: `${ctx.name}: ${title} ("${source}")`,
        panels: panels(grids),
        xLabel,
        yLabel: 'Query positions',
        columns: numHeads,
      });
    return [
      await draw(
        'transformer_encoder_attention.png',
        'encoder self-attention',
        maps.encoder,
        'Key positions',
      ),
      await draw(
        'transformer_decoder_self_attention.png',
        'decoder self-attention',
        maps.decoderSelf,
        'Key positions',
      ),
      await draw(
        'transformer_decoder_cross_attention.png',
        'decoder-encoder attention',
        maps.decoderCross,
        'Key positions (source)',
      ),
    ];
  } finally {
    net.encoder.captureWeights = net.decoder.captureWeights = false;
    net.decoder.clearRecorded();
  }
}
