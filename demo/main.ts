// The smallest browser front end: trains both seed models on navigator.gpu and prints the losses.
import { init, trainClsMlp, trainNadarayaWatson } from '../src/index.js';

const log = document.querySelector<HTMLPreElement>('#log')!;
const print = (line: string) => {
  log.textContent += `${line}\n`;
};

document.querySelector<HTMLButtonElement>('#run')!.onclick = async () => {
  log.textContent = '';
  try {
    const engine = await init('webgpu');
    const a = engine.adapter;
    print(`adapter: ${'vendor' in a ? `${a.vendor} ${a.architecture} ${a.description}` : 'cpu'}`);
    const nw = await trainNadarayaWatson({
      onEpoch: (e, l) => print(`nadaraya_watson epoch ${e}, loss ${l.toFixed(4)}`),
    });
    print(`learned w = ${nw.w.toFixed(4)}`);
    const mlp = await trainClsMlp({
      onEpoch: (e, l, acc) => {
        if (e % 20 === 0) print(`cls_mlp epoch ${e}, loss ${l.toFixed(4)}, train acc ${acc.toFixed(3)}`);
      },
    });
    print(`cls_mlp training accuracy ${mlp.accuracy.toFixed(3)}`);
    engine.destroy();
  } catch (e) {
    print(String(e instanceof Error ? e.message : e));
  }
};
