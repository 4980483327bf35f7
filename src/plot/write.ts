import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { toPng, type PngOptions } from './render.js';

/**
 * Renders a Vega-Lite spec to PNG and writes it to `path`, creating parent directories.
 *
 * @returns `path`, for chaining and logging.
 */
export async function writePng(path: string, spec: TopLevelSpec, options?: PngOptions): Promise<string> {
  const png = await toPng(spec, options);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, png);
  return path;
}
