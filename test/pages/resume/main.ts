/** test/resume.test.ts's browser half: the resume scenario with an IndexedDB checkpoint store. */
import { Engine } from '../../../src/runtime/engine.js';
import { indexedDbStore } from '../../../src/train/checkpoint_store_browser.js';
import { resumeScenario } from '../../resume_scenario.js';

(window as unknown as { runResume: unknown }).runResume = async (text: string) => {
  const store = indexedDbStore(`resume-test-${Date.now()}`);
  const storedBefore = (await store.read()) !== null;
  const outcome = await resumeScenario(text, () => Engine.create('webgpu'), store);
  await store.clear();
  return { ...outcome, storedBefore };
};
