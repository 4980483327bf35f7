/**
 * test/checkpoint_torch.test.ts's browser half, through the browser entry: PyTorch's checkpoint folder uploaded as
 * Files, the model's logits, a save to IndexedDB and a load back, and the download Files.
 */
import {
  checkpointFromFiles,
  checkpointToFiles,
  deleteCheckpointFromIndexedDb,
  init,
  loadCheckpointFromIndexedDb,
  loadModelFromFiles,
  loadModelFromIndexedDb,
  saveCheckpointToIndexedDb,
} from '../../../src/browser.js';
import {
  TORCH_FILES,
  buildFromConfig,
  logitsOf,
  sha256Hex,
  type ForwardFixture,
} from '../../checkpoint_torch_fixture.js';

export interface PageOutcome {
  fromFiles: number[];
  fromIndexedDb: number[];
  location: string;
  downloadNames: string[];
  downloadSha256: string;
  downloadConfig: unknown;
  afterDelete: { name: string; message: string };
  leftoverTensors: number;
}

(window as unknown as { runCheckpoint: unknown }).runCheckpoint = async (
  fixture: ForwardFixture,
): Promise<PageOutcome> => {
  const e = await init('webgpu');
  // What an <input type="file" multiple> hands over, plus a file that is not part of a checkpoint.
  const uploads = await Promise.all(
    [...TORCH_FILES, 'README.md'].map(async (name) => {
      const url = name === 'README.md' ? '/README.md' : `/test/fixtures/checkpoint/torch/${name}`;
      return new File([await (await fetch(url)).blob()], name);
    }),
  );
  const { model, checkpoint } = await loadModelFromFiles(uploads, buildFromConfig);
  const fromFiles = await logitsOf(model, fixture);

  const name = `torch-fixture-${Date.now()}`;
  const location = await saveCheckpointToIndexedDb(name, model, checkpoint);
  model.dispose();
  const { model: again } = await loadModelFromIndexedDb(name, buildFromConfig);
  const fromIndexedDb = await logitsOf(again, fixture);

  const download = await checkpointToFiles(again, checkpoint);
  const weights = download.find((f) => f.name === 'model.safetensors')!;
  const downloadSha256 = await sha256Hex(new Uint8Array(await weights.arrayBuffer()));
  const downloadConfig = (await checkpointFromFiles(download)).config;
  again.dispose();

  await deleteCheckpointFromIndexedDb(name);
  const err = (await loadCheckpointFromIndexedDb(name).catch((x: unknown) => x)) as Error;
  return {
    fromFiles,
    fromIndexedDb,
    location,
    downloadNames: download.map((f) => f.name),
    downloadSha256,
    downloadConfig,
    afterDelete: { name: err.name, message: err.message },
    leftoverTensors: e.memoryStats().tensors,
  };
};
