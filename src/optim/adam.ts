/**
 * `torch.optim.Adam` and `torch.optim.AdamW` (d2l §12.10): bias-corrected first and second moments, one fused kernel
 * per parameter. Adam adds weightDecay·p to the gradient (L2); AdamW decays the weights directly (decoupled).
 */
import { adamStep } from '../ops/optim_update.js';
import type { Tensor } from '../runtime/tensor.js';
import { Optimizer, checkRange } from './optimizer.js';

export interface AdamOptions {
  lr?: number;
  /** (β1, β2): decay rates of the first and second moment estimates. */
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
}

export class Adam extends Optimizer {
  lr: number;
  readonly betas: [number, number];
  readonly eps: number;
  readonly weightDecay: number;
  protected readonly stateNames = ['exp_avg', 'exp_avg_sq'];
  /** Whether weight decay is decoupled from the gradient (AdamW). */
  protected readonly decoupled: boolean = false;

  /**
   * @param params the tensors to train (any shapes), updated in place on `step()`; m and v are allocated on the
   *   first step of each parameter and freed by `dispose()`.
   * @throws RangeError for a negative lr, eps or weightDecay, or betas outside [0, 1).
   */
  constructor(
    params: Tensor[],
    { lr = 1e-3, betas = [0.9, 0.999], eps = 1e-8, weightDecay = 0 }: AdamOptions = {},
  ) {
    super(params);
    const name = new.target.name;
    checkRange(name, 'learning rate', lr, lr >= 0);
    checkRange(name, 'epsilon value', eps, eps >= 0);
    checkRange(name, 'beta parameter at index 0', betas[0], betas[0] >= 0 && betas[0] < 1);
    checkRange(name, 'beta parameter at index 1', betas[1], betas[1] >= 0 && betas[1] < 1);
    checkRange(name, 'weight_decay value', weightDecay, weightDecay >= 0);
    this.lr = lr;
    this.betas = betas;
    this.eps = eps;
    this.weightDecay = weightDecay;
  }

  protected update(p: Tensor, g: Tensor): void {
    const [m, v] = this.stateOf(p, 2);
    const [beta1, beta2] = this.betas;
    const attrs = {
      lr: this.lr,
      beta1,
      beta2,
      eps: this.eps,
      weightDecay: this.weightDecay,
      step: this.stepCount,
      decoupled: this.decoupled,
    };
    this.swap([p, m, v], adamStep(p, g, m, v, attrs));
  }
}

/** `torch.optim.AdamW`: Adam with decoupled weight decay, p ← p·(1 − lr·weightDecay) before the Adam step. */
export class AdamW extends Adam {
  protected override readonly decoupled = true;

  /** Defaults as PyTorch: lr 1e-3, betas (0.9, 0.999), eps 1e-8, weightDecay 1e-2. */
  constructor(params: Tensor[], { weightDecay = 1e-2, ...rest }: AdamOptions = {}) {
    super(params, { ...rest, weightDecay });
  }
}
