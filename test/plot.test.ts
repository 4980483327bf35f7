import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { heatmap, heatmapGrid, lineChart, toPng, type LineChartOptions } from '../src/plot';
import { matrixCells } from '../src/plot/cells';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Checks the PNG signature and reads width/height from the IHDR chunk that must follow it. */
function pngSize(png: Buffer): { width: number; height: number } {
  expect(png.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
  expect(png.toString('latin1', 12, 16)).toBe('IHDR');
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

const matrix = (rows: number, cols: number, f: (r: number, c: number) => number) =>
  Array.from({ length: rows }, (_, r) => Array.from({ length: cols }, (_, c) => f(r, c)));

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'plot-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('toPng', () => {
  it('renders a Vega-Lite spec to a PNG', async () => {
    const png = await toPng({
      width: 200,
      height: 100,
      data: { values: [{ a: 1, b: 2 }] },
      mark: 'point',
      encoding: { x: { field: 'a', type: 'quantitative' }, y: { field: 'b', type: 'quantitative' } },
    });
    const { width, height } = pngSize(png);
    expect(width).toBeGreaterThan(200);
    expect(height).toBeGreaterThan(100);
  });
});

describe('lineChart', () => {
  const xs = Array.from({ length: 40 }, (_, i) => i / 8);
  const options = (title: string): LineChartOptions => ({
    title,
    xLabel: 'x',
    yLabel: 'y',
    series: [
      { name: 'truth', x: xs, y: xs.map(Math.sin) },
      { name: 'fit', x: xs, y: xs.map((x) => Math.sin(x) + 0.1) },
      { name: 'data', x: xs, y: xs.map((x) => Math.sin(x) - 0.2), mark: 'point' },
    ],
  });

  it('writes a PNG, creating parent directories, and returns its path', async () => {
    const path = join(dir, 'nested', 'deeper', 'line.png');
    expect(await lineChart(path, options('Fit'))).toBe(path);
    const { width, height } = pngSize(await readFile(path));
    expect(width).toBeGreaterThan(100);
    expect(height).toBeGreaterThan(100);
  });

  it('draws text: titles of the same length give different pixels', async () => {
    const a = await readFile(await lineChart(join(dir, 'a.png'), options('Loss')));
    const b = await readFile(await lineChart(join(dir, 'b.png'), options('Lost')));
    expect(pngSize(a)).toEqual(pngSize(b));
    expect(a.equals(b)).toBe(false);
  });

  it('draws on a log axis, dropping non-positive values', async () => {
    const path = await lineChart(join(dir, 'log.png'), {
      title: 'Loss',
      xLabel: 'epoch',
      yLabel: 'loss',
      logY: true,
      series: [{ name: 'train', x: [1, 2, 3, 4], y: [1, 0.1, 0, 0.01] }],
    });
    expect(pngSize(await readFile(path)).width).toBeGreaterThan(100);
  });

  it('rejects series whose x and y lengths differ', async () => {
    await expect(
      lineChart(join(dir, 'bad.png'), {
        title: 't',
        xLabel: 'x',
        yLabel: 'y',
        series: [{ name: 's', x: [1, 2], y: [1] }],
      }),
    ).rejects.toThrow(/1 y/);
  });
});

describe('heatmap', () => {
  const base = { xLabel: 'Keys', yLabel: 'Queries' };

  it('renders a 50×50 matrix with its title', async () => {
    const values = matrix(50, 50, (r, c) => Math.exp(-((r - c) ** 2) / 20));
    const titled = await readFile(await heatmap(join(dir, 'hm.png'), { ...base, title: 'Weights', values }));
    const untitled = await readFile(await heatmap(join(dir, 'hm0.png'), { ...base, title: '', values }));
    const size = pngSize(titled);
    expect(size.width).toBeGreaterThan(100);
    expect(size.height).toBeGreaterThan(pngSize(untitled).height);
  });

  it('renders a 60×1000 matrix quickly', async () => {
    const values = matrix(60, 1000, (r, c) => Math.sin(r / (1 + c / 10)));
    const start = performance.now();
    const path = await heatmap(join(dir, 'big.png'), { ...base, title: 'PE', values, colorScheme: 'blues' });
    expect(performance.now() - start).toBeLessThan(8000);
    const { width, height } = pngSize(await readFile(path));
    expect(width).toBeGreaterThan(height);
    expect(height).toBeGreaterThan(100);
  });

  it('labels ticks, and rejects a wrong number of labels', async () => {
    const values = matrix(2, 3, (r, c) => r + c);
    const path = await heatmap(join(dir, 'ticks.png'), {
      ...base,
      title: 'Tokens',
      values,
      xTicks: ['<bos>', 'cat', 'sat'],
      yTicks: [0, 1],
    });
    expect(pngSize(await readFile(path)).width).toBeGreaterThan(100);
    await expect(
      heatmap(join(dir, 'x.png'), { ...base, title: 't', values, xTicks: ['a'] }),
    ).rejects.toThrow();
    await expect(heatmap(join(dir, 'y.png'), { ...base, title: 't', values: [[1, 2], [3]] })).rejects.toThrow(
      /ragged/,
    );
  });
});

describe('matrixCells', () => {
  it('keeps every entry of a small matrix, in index units', () => {
    const cells = matrixCells([[1, 2, 3]], 100, 100);
    expect(cells.map((c) => c.v)).toEqual([1, 2, 3]);
    expect(cells[1]).toMatchObject({ x0: 0.5, x1: 1.5, y0: -0.5, y1: 0.5 });
  });

  it('block-averages a matrix larger than the pixel budget', () => {
    const cells = matrixCells(
      matrix(4, 1000, (_, c) => c),
      100,
      500,
    );
    expect(cells).toHaveLength(4 * 500);
    expect(cells[0]).toMatchObject({ x0: -0.5, x1: 1.5, v: 0.5 });
    expect(matrixCells([[NaN, 1]], 1, 1)[0].v).toBe(1);
  });
});

describe('heatmapGrid', () => {
  it('draws several panels sharing one colour scale', async () => {
    const panels = [0, 1, 2].map((h) => ({
      title: `Head ${h + 1}`,
      values: matrix(8, 8, (r, c) => Math.exp(-((r - c + h) ** 2))),
    }));
    const opts = { title: 'Heads', xLabel: 'Keys', yLabel: 'Queries', panels };
    const row = pngSize(await readFile(await heatmapGrid(join(dir, 'grid.png'), opts)));
    const wrapped = pngSize(
      await readFile(await heatmapGrid(join(dir, 'grid2.png'), { ...opts, columns: 2 })),
    );
    expect(row.width).toBeGreaterThan(wrapped.width);
    expect(wrapped.height).toBeGreaterThan(row.height);
    expect(row.height).toBeGreaterThan(100);
  });
});
