/**
 * The library build (`npm run build`): ES modules in dist/ for two entries, `browser` (no Node-only module) and
 * `node`. Dependencies and node:* stay external; the Dawn binding (`webgpu`) is imported at run time from a
 * variable in src/runtime/device.ts, so it is never bundled. Prints the browser entry's size with its chunks.
 */
import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { gzipSync } from 'node:zlib';
import { defineConfig, type Plugin } from 'vite';
import pkg from './package.json' with { type: 'json' };

const external = [
  ...Object.keys(pkg.dependencies),
  ...builtinModules,
  ...builtinModules.map((m) => `node:${m}`),
];

/**
 * src/data/fra_eng_file.ts's default corpus path is `new URL('…/shared/…', import.meta.url)`, which vite would
 * inline as a 15 MB data: URL; the package keeps it a plain run-time URL (Node callers pass their own path).
 */
export function keepSharedDataUrls(): Plugin {
  return {
    name: 'keep-shared-data-urls',
    enforce: 'pre',
    transform(code, id) {
      if (!id.endsWith('/src/data/fra_eng_file.ts')) return null;
      return { code: code.replace(/import\.meta\.url\)/g, '/* @vite-ignore */ import.meta.url)'), map: null };
    },
  };
}

/**
 * The shaders' comments (the why of each kernel, a third of their bytes) stay in `shaders/`: the package ships each
 * `.wgsl` with its comments emptied, line by line so that compile errors still name the file's own lines, and the
 * `// #import` directives that src/runtime/wgsl_compose.ts reads kept. That keeps an app bundling the package under
 * bundlers' 500 kB chunk warning.
 */
export function compactWgsl(): Plugin {
  return {
    name: 'compact-wgsl',
    enforce: 'pre',
    load(id) {
      const [file, query] = id.split('?');
      if (!file.endsWith('.wgsl') || query !== 'raw') return null;
      const text = readFileSync(file, 'utf8')
        .split('\n')
        .map((line) => (/^\s*\/\/\s*#import\b/.test(line) ? line : line.replace(/\s*\/\/.*$/, '')))
        .join('\n');
      return `export default ${JSON.stringify(text)};`;
    },
  };
}

/** A Node built-in, or one of the modules that only the `node` entry may import. */
const isNodeOnly = (id: string) =>
  id.startsWith('node:') ||
  builtinModules.includes(id) ||
  /\/src\/(plot\/|train\/checkpoint\.ts|data\/(download|fra_eng_file)\.ts)/.test(id);

/**
 * Prints the size of the browser entry with its chunks (the number the README quotes) and fails the build when
 * that entry imports a Node-only module, statically or with `import()`: a bundler would externalise it with a
 * warning and the page would break where it runs.
 */
function browserSize(): Plugin {
  return {
    name: 'browser-bundle-size',
    generateBundle(_options, bundle) {
      const seen = new Set<string>();
      const visit = (file: string) => {
        const chunk = bundle[file];
        if (seen.has(file) || !chunk || chunk.type !== 'chunk') return;
        seen.add(file);
        chunk.imports.forEach(visit);
      };
      visit('browser.js');
      let raw = 0;
      let gz = 0;
      for (const f of seen) {
        const chunk = bundle[f];
        if (chunk.type !== 'chunk') continue;
        raw += Buffer.byteLength(chunk.code);
        gz += gzipSync(chunk.code).length;
        for (const id of [...chunk.moduleIds, ...chunk.imports, ...chunk.dynamicImports])
          if (isNodeOnly(id)) this.error(`browser entry pulls in the Node-only module ${id}`);
      }
      const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
      console.log(`\nbrowser bundle (browser.js + chunks): ${kib(raw)}, gzip ${kib(gz)}`);
    },
  };
}

export default defineConfig({
  build: {
    outDir: 'dist',
    emptyOutDir: false,
    target: 'es2022',
    minify: false,
    sourcemap: true,
    lib: {
      entry: { browser: 'src/browser.ts', node: 'src/node.ts' },
      formats: ['es'],
    },
    rolldownOptions: {
      external: (id) => external.some((e) => id === e || id.startsWith(`${e}/`)),
    },
  },
  plugins: [keepSharedDataUrls(), compactWgsl(), browserSize()],
});
