/**
 * The Transformer's attention weights as nested arrays for heatmaps (d2l §11.7.4): the command line's pictures
 * (transformer_plots.ts) and the demo's translation page draw them.
 */
import type { Transformer } from '../models/transformer.js';
import type { Tensor } from '../runtime/tensor.js';

/** Attention weights as nested arrays for heatmaps: [block][head][query][key]. */
export type HeadGrids = number[][][][];

/** Rows of batch item `item` in (B·H, L, S) weights, as [head][query][key]. */
async function perHead(w: Tensor, numHeads: number, item: number): Promise<number[][][]> {
  const [, l, s] = w.shape;
  const v = await w.data();
  const row = (h: number, i: number) => ((item * numHeads + h) * l + i) * s;
  return Array.from({ length: numHeads }, (_, h) =>
    Array.from({ length: l }, (_, i) => Array.from(v.subarray(row(h, i), row(h, i) + s))),
  );
}

/**
 * The attention weights d2l §11.7 plots, for batch item `item`: the encoder's self-attention of its last forward
 * (numBlks, numHeads, S, S), and the decoder's recorded forwards (one per decoded token when predicting) stacked
 * along the query axis, (numBlks, numHeads, steps, width) for self- and encoder-decoder attention. Every decoder
 * row is zero-padded to the widest one, as d2l's `pd.DataFrame(…).fillna(0.0)`.
 * @throws Error when the encoder or decoder did not capture weights (set `captureWeights` before predicting).
 */
export async function transformerAttentionHeatmaps(
  model: Transformer,
  item = 0,
): Promise<{ encoder: HeadGrids; decoderSelf: HeadGrids; decoderCross: HeadGrids }> {
  const { encoder, decoder } = model;
  const heads = encoder.blks.list[0]?.attention.numHeads ?? 0;
  const encWeights = encoder.attentionWeights;
  if (encWeights.some((w) => !w) || decoder.recorded.length === 0)
    throw new Error(
      'transformerAttentionHeatmaps: set captureWeights on the encoder and decoder, then predict',
    );
  const enc = await Promise.all(encWeights.map((w) => perHead(w!, heads, item)));
  const stacked = async (kind: 'self' | 'cross') =>
    Promise.all(
      decoder.blks.list.map(async (_, blk) => {
        const steps = await Promise.all(decoder.recorded.map((r) => perHead(r[kind][blk], heads, item)));
        return Array.from({ length: heads }, (_, h) => steps.flatMap((s) => s[h]));
      }),
    );
  const [self, cross] = [await stacked('self'), await stacked('cross')];
  const width = Math.max(...[self, cross].flat(3).map((r) => r.length));
  const pad = (g: HeadGrids) =>
    g.map((blk) =>
      blk.map((head) => head.map((r) => [...r, ...new Array<number>(width - r.length).fill(0)])),
    );
  return { encoder: enc, decoderSelf: pad(self), decoderCross: pad(cross) };
}
