/** The corpus slice demo/vite.config.ts bundles at build time. */
declare module 'virtual:fra-sample' {
  const sample: { text: string; lines: number; source: string };
  export default sample;
}
