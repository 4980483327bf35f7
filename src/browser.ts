/** The package's `browser` entry: the public API, with no Node-only module (file system, plots, Dawn). */
export * from './index.js';
