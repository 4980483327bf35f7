// The demo page's build: keeps the Node-only corpus URL out of the bundle, as the library build does.
import { defineConfig } from 'vite';
import { keepSharedDataUrls } from '../vite.config.js';

export default defineConfig({ plugins: [keepSharedDataUrls()] });
