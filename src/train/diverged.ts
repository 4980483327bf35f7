/** Training that produces NaN or Infinity stops loudly instead of printing NaN losses. */
export class DivergenceError extends Error {
  constructor(model: string, epoch: number, loss: number) {
    super(
      `${model}: training diverged at epoch ${epoch} (loss ${loss}); lower the learning rate or check the data`,
    );
    this.name = 'DivergenceError';
  }
}

export function checkFinite(model: string, epoch: number, loss: number): void {
  if (!Number.isFinite(loss)) throw new DivergenceError(model, epoch, loss);
}
