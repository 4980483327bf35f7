import { init } from './src/runtime/global.js';
import { trainClsMlp } from './src/experiments/cls_mlp.js';
for (const b of ['webgpu', 'cpu'] as const) {
  await init(b);
  const t = performance.now();
  const m = await trainClsMlp({ seed: 0 });
  console.log(
    b,
    m.losses
      .filter((_, i) => i % 20 === 19)
      .map((v) => v.toFixed(5))
      .join(' '),
    m.accuracy,
    (performance.now() - t) / 1000,
  );
}
process.exit(0);
