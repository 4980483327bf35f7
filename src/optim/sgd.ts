/** `torch.optim.SGD` (d2l §12.4): plain steps, optional L2 weight decay and heavy-ball momentum, one fused kernel. */
import { sgdStep } from '../ops/optim_update.js';
import type { Tensor } from '../runtime/tensor.js';
import { Optimizer, checkRange } from './optimizer.js';

export interface SgdOptions {
  lr: number;
  /** L2 penalty added to the gradient: g + weightDecay·p. */
  weightDecay?: number;
  /** Heavy-ball momentum μ (dampening 0, no Nesterov): b ← μ·b + g, p ← p − lr·b. */
  momentum?: number;
}

export class SGD extends Optimizer {
  lr: number;
  readonly weightDecay: number;
  readonly momentum: number;
  protected readonly stateNames = ['momentum_buffer'];

  /**
   * @param params the tensors to train (any shapes), updated in place on `step()`.
   * @throws RangeError for a negative or non-finite lr, weightDecay or momentum.
   */
  constructor(params: Tensor[], { lr, weightDecay = 0, momentum = 0 }: SgdOptions) {
    super(params);
    checkRange('SGD', 'learning rate', lr, lr >= 0);
    checkRange('SGD', 'weight_decay value', weightDecay, weightDecay >= 0);
    checkRange('SGD', 'momentum value', momentum, momentum >= 0);
    this.lr = lr;
    this.weightDecay = weightDecay;
    this.momentum = momentum;
  }

  protected update(p: Tensor, g: Tensor): void {
    const attrs = { lr: this.lr, weightDecay: this.weightDecay, momentum: this.momentum };
    if (this.momentum > 0) {
      const [b] = this.stateOf(p, 1);
      this.swap([p, b], sgdStep(p, g, b, attrs));
    } else {
      this.swap([p], sgdStep(p, g, null, attrs));
    }
  }
}
