/**
 * The demo page's build: keeps the Node-only corpus URL out of the bundle, as the library build does, and bundles
 * a small slice of the shared fra-eng corpus as the virtual module `virtual:fra-sample` for the live translation
 * training (read at build time, so the repository never holds a copy of the data).
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';
import { keepSharedDataUrls } from '../vite.config.js';

/** ../shared/data/fra-eng/fra.txt from the repository root. */
const FRA_TXT = fileURLToPath(new URL('../../shared/data/fra-eng/fra.txt', import.meta.url));
/** Lines bundled: enough for d2l's "i'm home ." (line 350) while keeping the page small (≈ 10 KB). */
export const SAMPLE_LINES = 400;

/**
 * `import sample from 'virtual:fra-sample'`: `{ text, lines, source }`, the corpus's first SAMPLE_LINES lines, or
 * empty text (and the page asks for a file) when the corpus is not beside the checkout.
 */
function fraSample(): Plugin {
  const id = 'virtual:fra-sample';
  const resolved = `\0${id}`;
  return {
    name: 'fra-sample',
    resolveId: (source) => (source === id ? resolved : null),
    load(source) {
      if (source !== resolved) return null;
      let text = '';
      if (existsSync(FRA_TXT)) {
        this.addWatchFile(FRA_TXT);
        const raw = readFileSync(FRA_TXT, 'utf8');
        text = raw.split('\n').slice(0, SAMPLE_LINES).join('\n');
      } else {
        this.warn(`${FRA_TXT} is missing: the demo bundles no corpus sample (users can still drop a file)`);
      }
      const lines = text ? text.split('\n').length : 0;
      const sample = { text, lines, source: 'fra-eng, manythings.org/anki and tatoeba.org, CC-BY 2.0' };
      return `export default ${JSON.stringify(sample)};`;
    },
  };
}

export default defineConfig({
  plugins: [keepSharedDataUrls(), fraSample()],
  // Vega and Vega-Lite are most of the page (about 1.3 MB minified, 400 KB gzip); the library is under 100 KB.
  build: { chunkSizeWarningLimit: 2000 },
});
