/**
 * `Embedding` (`torch.nn.Embedding(num_embeddings, embedding_dim)`): a (V, E) table initialised N(0, 1) as
 * PyTorch does, looked up by int32 token ids (src/ops/embedding.ts).
 */
import { type Random, defaultGenerator } from '../runtime/random.js';
import { embedding } from '../ops/embedding.js';
import { OpError } from '../runtime/op.js';
import type { Tensor } from '../runtime/tensor.js';
import { Module, fromValues } from './module.js';

export class Embedding extends Module {
  /** (V, E), state_dict name `weight`. */
  readonly weight: Tensor;

  /**
   * @param numEmbeddings V, the vocabulary size.
   * @param embeddingDim E.
   * @throws Error when V or E is not a positive integer.
   */
  constructor(
    readonly numEmbeddings: number,
    readonly embeddingDim: number,
    { rng = defaultGenerator() }: { rng?: Random } = {},
  ) {
    super();
    for (const [name, n] of [
      ['numEmbeddings', numEmbeddings],
      ['embeddingDim', embeddingDim],
    ] as const)
      if (!Number.isInteger(n) || n < 1)
        throw new Error(`Embedding: ${name} must be an integer >= 1, got ${n}`);
    this.weight = this.addParameter(
      'weight',
      fromValues(rng.normalArray(numEmbeddings * embeddingDim), [numEmbeddings, embeddingDim]),
    );
  }

  /**
   * @param indices int32 token ids of any shape (…), e.g. (B, L); ids outside [0, V) are clamped to the nearest
   *   row (PyTorch raises instead).
   * @returns (…, E).
   * @throws OpError when indices are not int32.
   */
  forward(indices: Tensor): Tensor {
    if (indices.dtype !== 'int32')
      throw new OpError('Embedding', 'indices must be int32 token ids', [indices.shape, this.weight.shape]);
    return embedding(this.weight, indices);
  }
}
