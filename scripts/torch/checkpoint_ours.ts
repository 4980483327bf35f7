/**
 * Step 2 of scripts/torch/checkpoint.py (which runs it): loads PyTorch's checkpoint folder
 * test/fixtures/checkpoint/torch/ with our loadModel and writes the model's weights back with our encoder, to
 * test/fixtures/checkpoint/ours.safetensors, which the Python script then loads with strict=True. On the CPU
 * reference backend: no GPU needed.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { translationModel } from '../../src/experiments/translate.js';
import { Engine } from '../../src/runtime/engine.js';
import { setEngine } from '../../src/runtime/global.js';
import { loadModel } from '../../src/train/checkpoint.js';
import { WEIGHTS_FILE, encodeCheckpoint } from '../../src/train/checkpoint_files.js';

const dir = join(import.meta.dirname, '../../test/fixtures/checkpoint');
setEngine(await Engine.create('cpu'));
const { model, checkpoint } = await loadModel(join(dir, 'torch'), (c, src, tgt) =>
  translationModel(c.model).build(c, src, tgt),
);
const files = await encodeCheckpoint(model, checkpoint);
await writeFile(join(dir, 'ours.safetensors'), files[WEIGHTS_FILE]);
console.log('wrote', join(dir, 'ours.safetensors'));
