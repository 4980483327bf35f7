/**
 * The page's weights files: a model's tensors as safetensors (src/train/safetensors.ts, no Node import), with the
 * model's name, and for the translation models the corpus and pairs that fixed its vocabularies, in the header's
 * `__metadata__`. Downloaded as a Blob through an `<a download>` link; read back from an `<input type=file>`.
 */
import { decodeSafetensors, encodeSafetensors } from '../src/browser.js';
import type { Weights } from './live_common.js';

/** `__metadata__.format` of the files the page writes. */
export const WEIGHTS_FORMAT = 'webgpu-attention demo';

/** What a weights file says about itself: the model, and what else it was trained with. */
export interface WeightsMeta {
  model: string;
  /** The corpus's name (the bundled sample, or the file the user picked) and d2l's num_examples. */
  corpus?: string;
  pairs?: string;
  /** Where the weights came from: `trained 5 epochs`, `loaded from nw.safetensors`. */
  origin?: string;
}

/** The safetensors bytes of `weights`, `meta` in the header. */
export function encodeWeights(weights: Weights, meta: WeightsMeta): Uint8Array {
  const metadata: Record<string, string> = { format: WEIGHTS_FORMAT };
  for (const [k, v] of Object.entries(meta)) if (v !== undefined) metadata[k] = v;
  return encodeSafetensors(weights, metadata);
}

/**
 * Reads a weights file.
 * @returns its tensors and what its header says (`model` empty when the file does not name one: a safetensors
 *   file written elsewhere, which then must fit the selected model).
 * @throws CheckpointError naming the file for bytes that are not a valid F32 safetensors file.
 */
export function decodeWeights(bytes: Uint8Array, file: string): { weights: Weights; meta: WeightsMeta } {
  const { tensors, metadata } = decodeSafetensors(bytes, file);
  return { weights: tensors, meta: { ...metadata, model: metadata.model ?? '' } };
}

/** The `<a download>` link: points at a Blob of the latest weights, hidden while there are none. */
export class WeightsLink {
  private url: string | null = null;

  constructor(private readonly link: HTMLAnchorElement) {
    link.hidden = true;
  }

  /** Offers `weights` as `<model>.safetensors`; the previous Blob's URL is released. */
  set(weights: Weights, meta: WeightsMeta): void {
    this.clear();
    const bytes = encodeWeights(weights, meta);
    this.url = URL.createObjectURL(new Blob([bytes as BlobPart], { type: 'application/octet-stream' }));
    this.link.href = this.url;
    this.link.download = `${meta.model}.safetensors`;
    this.link.textContent = `Download ${meta.model} weights (${meta.origin ?? 'safetensors'}, ${(bytes.length / 1024).toFixed(1)} KiB)`;
    this.link.hidden = false;
  }

  clear(): void {
    if (this.url) URL.revokeObjectURL(this.url);
    this.url = null;
    this.link.removeAttribute('href');
    this.link.hidden = true;
  }
}
