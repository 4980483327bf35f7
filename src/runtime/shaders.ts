/**
 * WGSL sources, loaded as text by the bundler the same way in the browser build, in vitest and in Node
 * (vite-node): one entry per `shaders/*.wgsl`, keyed by file stem.
 */
const files = import.meta.glob('../../shaders/*.wgsl', { query: '?raw', import: 'default', eager: true });

export const shaderSources: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(files).map(([path, text]) => [path.replace(/^.*\/(.+)\.wgsl$/, '$1'), text as string]),
);

/** The source of `shaders/<name>.wgsl`; throws listing the known kernels when it does not exist. */
export function shaderSource(name: string): string {
  const src = shaderSources[name];
  if (src === undefined)
    throw new Error(
      `kernel "${name}": no shaders/${name}.wgsl (known: ${Object.keys(shaderSources).join(', ')})`,
    );
  return src;
}
