/**
 * test/fixtures/checkpoint/ (scripts/torch/checkpoint.py): a small d2l Transformer's checkpoint folder written by
 * PyTorch (torch/), the logits of one eval-mode forward in PyTorch (forward.json), and ours.safetensors, our encoder's
 * file of the same weights, which PyTorch loaded with strict=True. Shared by test/checkpoint_torch.test.ts and its
 * Chromium page (test/pages/checkpoint/), so no Node import.
 */
import {
  buildTransformer,
  engine,
  type CheckpointConfig,
  type EncoderDecoder,
  type ModelBuilder,
  type Transformer,
} from '../src/browser.js';

export interface FlatArray {
  shape: number[];
  data: number[];
}

/** forward.json. */
export interface ForwardFixture {
  encX: FlatArray;
  decX: FlatArray;
  encValidLens: number[];
  /** (B, Tt, V) PyTorch's logits in eval mode. */
  logits: FlatArray;
  /** What scripts/torch/checkpoint.py checked of ours.safetensors. */
  ours: { file: string; sha256: string; metadata: Record<string, string>; loadStateDictStrict: boolean };
}

/** The files of PyTorch's checkpoint folder, test/fixtures/checkpoint/torch/. */
export const TORCH_FILES = ['model.safetensors', 'vocab.json', 'config.json'] as const;

/** PyTorch's float32 logits are matched to this, absolute (they lie within ±2). */
export const TOLERANCE = 1e-5;

/** The builder for a page, which has no translate registry (it imports the file system): the Transformer only. */
export const buildFromConfig: ModelBuilder<Transformer> = (c: CheckpointConfig, src, tgt) => {
  if (c.model !== 'transformer') throw new Error(`expected a transformer, got ${c.model}`);
  const n = (key: string) => c[key] as number;
  const arch = ['numHiddens', 'numBlks', 'dropout', 'ffnNumHiddens', 'numHeads'] as const;
  const config = Object.fromEntries(arch.map((k) => [k, n(k)])) as Record<(typeof arch)[number], number>;
  return buildTransformer(config, src.size, tgt.size);
};

/** The model's logits for the fixture's batch, in eval mode (dropout off), as a flat array. */
export async function logitsOf(
  model: EncoderDecoder<unknown, unknown>,
  f: ForwardFixture,
): Promise<number[]> {
  const e = engine();
  model.eval();
  const encX = e.fromArray(f.encX.data, f.encX.shape, 'int32');
  const decX = e.fromArray(f.decX.data, f.decX.shape, 'int32');
  const lens = e.fromArray(f.encValidLens, [f.encValidLens.length], 'int32');
  const y = e.tidy(() => e.noGrad(() => model.forward(encX, decX, lens)));
  const shape = [...y.shape];
  const out = Array.from(await y.data());
  for (const t of [encX, decX, lens, y]) t.dispose();
  if (shape.join() !== f.logits.shape.join()) throw new Error(`logits (${shape}) ≠ (${f.logits.shape})`);
  return out;
}

/** max |a − b|. */
export const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number =>
  Array.from(a, (v, i) => Math.abs(v - b[i])).reduce(
    (m, d) => Math.max(m, d),
    a.length === b.length ? 0 : Infinity,
  );

/** Lower-case hex SHA-256 (Web Crypto: in pages on 127.0.0.1 and in Node ≥ 20). */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}
