/**
 * Head split/merge (d2l §11.5 `transpose_qkv` / `transpose_output`) on literal examples, the naive-view pitfall
 * the heads.ts comment describes, and repeat_interleave of valid lengths. Awkward shapes and the gradient checks
 * are in the generic registry test.
 */
import { expect, it } from 'vitest';
import { mergeHeads, splitHeads } from '../src/ops/heads.js';
import { repeatInterleave } from '../src/ops/repeat_interleave.js';
import { reshape } from '../src/ops/shape.js';
import { backward } from '../src/ops/autograd.js';
import { OpError } from '../src/runtime/op.js';
import { useEngine } from './engine_fixture.js';

const engine = useEngine();

const arange = (n: number) => Array.from({ length: n }, (_, i) => i);

it('splits features into heads by column blocks, unlike the naive view that splits positions', async () => {
  await engine().tidyAsync(async () => {
    // B = 1, L = 2, H = 2, D = 2: positions [0 1 2 3] and [4 5 6 7].
    const x = engine().fromArray(arange(8), [1, 2, 4]);
    const heads = splitHeads(x, 2);
    expect(heads.shape).toEqual([2, 2, 2]);
    expect(await heads.toArray()).toEqual([
      [
        [0, 1],
        [4, 5],
      ],
      [
        [2, 3],
        [6, 7],
      ],
    ]);
    // x.view(B, H, −1, D), then (B·H, L, D): reinterprets the (L, H·D) memory as H blocks of positions.
    const naive = reshape(reshape(x, [1, 2, -1, 2]), [2, 2, 2]);
    expect(await naive.toArray()).toEqual([
      [
        [0, 1],
        [2, 3],
      ],
      [
        [4, 5],
        [6, 7],
      ],
    ]);
  });
});

it('matches d2l transpose_qkv on B = 2, L = 3, H = 3, D = 2 and merges back to the input', async () => {
  await engine().tidyAsync(async () => {
    const [b, l, h, d] = [2, 3, 3, 2];
    const values = arange(b * l * h * d);
    const x = engine().fromArray(values, [b, l, h * d]);
    const y = splitHeads(x, h);
    // reshape(B, L, H, D).permute(0, 2, 1, 3): y[b·H + h, l, d] = x[b, l, h·D + d].
    const expected = [];
    for (let bi = 0; bi < b; bi++)
      for (let hi = 0; hi < h; hi++)
        for (let li = 0; li < l; li++)
          for (let di = 0; di < d; di++) expected.push(values[(bi * l + li) * h * d + hi * d + di]);
    expect(Array.from(await y.data())).toEqual(expected);
    expect(Array.from(await mergeHeads(y, h).data())).toEqual(values);
  });
});

it('gives split the merged dy as gradient and merge the split dy', async () => {
  await engine().tidyAsync(async () => {
    const x = engine().fromArray(arange(12), [1, 2, 6]);
    x.requiresGrad = true;
    const y = splitHeads(x, 3);
    const dy = engine().fromArray(
      arange(12).map((v) => v * 10),
      [3, 2, 2],
    );
    backward(y, dy);
    expect(Array.from(await x.grad!.data())).toEqual(Array.from(await mergeHeads(dy, 3).data()));
    const z = engine().fromArray(arange(12), [3, 2, 2]);
    z.requiresGrad = true;
    const dm = engine().fromArray(
      arange(12).map((v) => -v),
      [1, 2, 6],
    );
    backward(mergeHeads(z, 3), dm);
    expect(Array.from(await z.grad!.data())).toEqual(Array.from(await splitHeads(dm, 3).data()));
  });
});

it('throws OpError naming the op and the shape on bad input', () => {
  engine().tidy(() => {
    const x = engine().fromArray(arange(10), [1, 2, 5]);
    expect(() => splitHeads(x, 2)).toThrow(OpError);
    expect(() => splitHeads(x, 2)).toThrow(
      'split_heads: last dim 5 is not divisible by numHeads = 2 (got (1, 2, 5))',
    );
    expect(() => splitHeads(reshape(x, [10]), 1)).toThrow('split_heads: expects x (B, L, H·D) float32');
    expect(() => splitHeads(x, 0)).toThrow('numHeads must be an integer >= 1, got 0');
    expect(() => mergeHeads(x, 2)).toThrow('merge_heads: first dim 1 is not divisible by numHeads = 2');
  });
});

it('repeats valid lengths per head like torch.repeat_interleave(valid_lens, H, dim=0)', async () => {
  await engine().tidyAsync(async () => {
    const lens = engine().fromArray([3, 2], [2], 'int32');
    const r = repeatInterleave(lens, 3);
    expect(r.dtype).toBe('int32');
    expect(r.shape).toEqual([6]);
    expect(Array.from(await r.data())).toEqual([3, 3, 3, 2, 2, 2]);
    const rows = engine().fromArray([1, 2, -7, 4], [2, 2], 'int32');
    expect(await repeatInterleave(rows, 2).toArray()).toEqual([
      [1, 2],
      [1, 2],
      [-7, 4],
      [-7, 4],
    ]);
    const f = engine().fromArray([0.5, -1.25], [2, 1]);
    expect(Array.from(await repeatInterleave(f, 2).data())).toEqual([0.5, 0.5, -1.25, -1.25]);
    expect(() => repeatInterleave(lens, 0)).toThrow(
      'repeat_interleave: repeats must be an integer >= 1, got 0',
    );
  });
});
