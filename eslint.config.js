import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import importX from 'eslint-plugin-import-x';

/**
 * The layers of src/, each importing only the ones below it (README, Layout): what each may import besides itself.
 * data/, plot/ and eval/ are leaves (data/ takes only the RNG from the runtime); src/*.ts (the package entries, the
 * internal entry and the command lines) are the top and may import anything.
 */
const layers = {
  runtime: [],
  ops: ['runtime'],
  nn: ['runtime', 'ops', 'data', 'eval'],
  optim: ['runtime', 'ops'],
  models: ['runtime', 'ops', 'nn', 'data', 'eval'],
  train: ['runtime', 'ops', 'nn', 'optim', 'models', 'data', 'eval'],
  experiments: ['runtime', 'ops', 'nn', 'optim', 'models', 'train', 'data', 'eval', 'plot'],
  worker: ['runtime', 'ops', 'nn', 'optim', 'models', 'train', 'data', 'eval'],
  data: [],
  plot: [],
  eval: [],
};
const layerZones = Object.entries(layers).map(([layer, below]) => ({
  target: `src/${layer}/**`,
  from: [
    'src/*.ts',
    ...Object.keys(layers)
      .filter((l) => l !== layer && !below.includes(l))
      .map((l) => `src/${l}/**`),
  ],
  ...(layer === 'data' ? { except: ['**/src/runtime/random.ts'] } : {}),
  message: `src/${layer}/ imports only ${['itself', ...below].join(', ')} (eslint.config.js, README Layout).`,
}));
/** The demo and the bench see the library as a user does, through an entry (`except` globs match absolute paths). */
const entryZones = [
  {
    target: 'demo/**',
    from: ['src/**'],
    except: ['**/src/{browser,index,internal}.ts'],
    message: 'the demo imports the public API (src/browser.ts) or src/internal.ts.',
  },
  {
    target: 'bench/**',
    from: ['src/**'],
    except: ['**/src/{node,index,internal}.ts', '**/src/plot/**'],
    message: 'the bench imports the public API (src/node.ts), src/internal.ts or the plots.',
  },
];

export default tseslint.config(
  { ignores: ['node_modules', 'dist', 'results', 'bench/results', 'bench/_scratch*', 'coverage'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    plugins: { 'import-x': importX },
    settings: { 'import-x/resolver-next': [createTypeScriptImportResolver()] },
    rules: {
      'import-x/no-restricted-paths': [
        'error',
        { basePath: import.meta.dirname, zones: [...layerZones, ...entryZones] },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
);
