/**
 * WGSL sources, loaded as text by the bundler the same way in the browser build, in vitest and in Node
 * (vite-node): one entry per `shaders/*.wgsl`, keyed by file stem, composed with the `shaders/lib/*.wgsl` files
 * it imports (`// #import pcg from "lib/hash.wgsl"`, see wgsl_compose.ts).
 */
import { composeShader, type ComposedShader } from './wgsl_compose.js';

const files = import.meta.glob('../../shaders/*.wgsl', { query: '?raw', import: 'default', eager: true });
const libFiles = import.meta.glob('../../shaders/lib/*.wgsl', {
  query: '?raw',
  import: 'default',
  eager: true,
});

/** The shared files by their path under shaders/: `lib/hash.wgsl`. */
export const shaderLibs: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(libFiles).map(([path, text]) => [path.replace(/^.*\/shaders\//, ''), text as string]),
);

const composed: Readonly<Record<string, ComposedShader>> = Object.fromEntries(
  Object.entries(files).map(([path, text]) => {
    const stem = path.replace(/^.*\/(.+)\.wgsl$/, '$1');
    return [stem, composeShader(`${stem}.wgsl`, text as string, shaderLibs)];
  }),
);

/** The composed source of every kernel, keyed by file stem. */
export const shaderSources: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(composed).map(([stem, c]) => [stem, c.code]),
);

/** `shaders/<name>.wgsl` composed with its imports; throws listing the known kernels when it does not exist. */
export function composedShader(name: string): ComposedShader {
  const c = composed[name];
  if (c === undefined)
    throw new Error(`kernel "${name}": no shaders/${name}.wgsl (known: ${Object.keys(composed).join(', ')})`);
  return c;
}

/** The composed source of `shaders/<name>.wgsl` (see {@link composedShader}). */
export function shaderSource(name: string): string {
  return composedShader(name).code;
}
