/**
 * The demo page's own logic, in Node: the adapter line says "not reported" for what the browser leaves empty,
 * the training form rejects epochs that are not whole numbers ≥ 1, the loss chart's x ticks are whole epochs
 * whatever the run's length, and every kernel-check row names its function (`unary tanh`, not `unary`).
 */
import { changeset, parse, View } from 'vega';
import { compile } from 'vega-lite';
import { describe, expect, it } from 'vitest';
import { describeAdapter } from '../demo/adapter_panel.js';
import { lossChartSpec } from '../demo/charts.js';
import { readWholeNumber } from '../demo/form.js';
import { caseLabel, kernelCases } from '../demo/kernel_check.js';
import type { AdapterReport } from '../src/runtime/device.js';

const report: AdapterReport = {
  vendor: 'google',
  architecture: 'swiftshader',
  device: '',
  description: ' ',
  runtime: 'browser',
  software: true,
  features: ['subgroups'],
  limits: { maxBufferSize: 268435456 },
  limitsRequested: 'adapter',
  kernels: 'software',
};

describe('adapter line', () => {
  it('shows what the browser reports, and "not reported" for empty fields', () => {
    const [first, kernels, features, limits] = describeAdapter(report, false).split('\n');
    expect(first).toBe(
      'vendor google, architecture swiftshader, device not reported, description not reported',
    );
    expect(kernels).toBe(
      'kernel set: software (chosen for a CPU-emulated adapter; ?kernels=software|hardware forces one)',
    );
    expect(features).toBe('features: subgroups');
    expect(limits).toBe('limits: maxBufferSize=268435456');
    const all = describeAdapter({ ...report, vendor: '', architecture: '', kernels: 'hardware' }, true);
    expect(all).toMatch(/^vendor not reported, architecture not reported, device not reported/);
    expect(all).toMatch(/kernel set: hardware \(forced by \?kernels=/);
    expect(all).not.toMatch(/ ,|, ,|\(not given\)/);
  });
});

describe('training form', () => {
  it.each(['1', '5', ' 40 ', '1000'])('takes epochs %j', (text) => {
    expect(readWholeNumber(text, 'epochs', 1, 1000)).toEqual({ value: Number(text) });
  });

  it.each([
    ['0', 'epochs must be a whole number from 1 to 1000, got "0"'],
    ['-3', 'epochs must be a whole number from 1 to 1000, got "-3"'],
    ['2.5', 'epochs must be a whole number from 1 to 1000, got "2.5"'],
    ['1001', 'epochs must be a whole number from 1 to 1000, got "1001"'],
    ['abc', 'epochs must be a whole number from 1 to 1000, got "abc"'],
    // What a number input's value is when the text typed is not a number.
    ['', 'epochs must be a whole number from 1 to 1000, got nothing (or not a number)'],
  ])('rejects epochs %j', (text, error) => {
    expect(readWholeNumber(text, 'epochs', 1, 1000)).toEqual({ error });
  });

  it('has no upper bound unless given one', () => {
    expect(readWholeNumber('100000', 'pairs', 1)).toEqual({ value: 100000 });
    expect(readWholeNumber('0', 'pairs', 1)).toEqual({ error: 'pairs must be a whole number ≥ 1, got "0"' });
  });
});

/** The x axis's tick labels of the loss chart for a run of `epochs`, after `points` epochs are plotted. */
async function xTicks(epochs: number, points: number): Promise<string[]> {
  const view = new View(parse(compile(lossChartSpec('model', 'loss', epochs)).spec), { renderer: 'none' });
  const rows = Array.from({ length: points }, (_, i) => ({ epoch: i + 1, loss: 2 / (i + 1) }));
  await view.change('loss', changeset().insert(rows)).runAsync();
  const svg = await view.toSVG();
  view.finalize();
  // The first axis group is x; its labels are the <text> elements of its role-axis-label group.
  const group = svg.match(/role-axis-label[\s\S]*?<\/g>/)![0];
  return [...group.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
}

describe('loss chart', () => {
  it.each([1, 2, 3, 5, 7, 13, 40, 250, 1000])('labels a %i-epoch run in whole epochs', async (epochs) => {
    for (const points of new Set([1, 2, Math.ceil(epochs / 2), epochs])) {
      const ticks = await xTicks(epochs, Math.min(points, epochs));
      expect(ticks.length).toBeGreaterThan(1);
      for (const t of ticks) expect(t).toMatch(/^\d+$/);
      // Distinct, evenly spaced whole numbers (a fractional tick rounded to a whole label would repeat one).
      const n = ticks.map(Number);
      expect(new Set(n).size).toBe(n.length);
      const step = n[1] - n[0];
      expect(Number.isInteger(step) && step >= 1).toBe(true);
      expect(n.every((v, i) => i === 0 || v - n[i - 1] === step)).toBe(true);
      expect(n.at(-1)).toBeLessThanOrEqual(epochs);
    }
  });
});

describe('kernel check rows', () => {
  it('name the function of every unary and binary case', () => {
    const labels = kernelCases().map(({ op, def, index }) => caseLabel(op, def, index));
    const unary = labels.filter((l) => l.startsWith('unary'));
    const binary = labels.filter((l) => l.startsWith('binary'));
    expect(unary.length).toBe(39);
    expect(binary.length).toBe(24);
    expect(labels).not.toContain('unary');
    expect(labels).not.toContain('binary');
    expect(labels).toContain('unary tanh');
    expect(labels).toContain('unary pow_scalar');
    expect(labels).toContain('binary add');
    expect(labels).toContain('binary minimum');
    expect(new Set(unary).size).toBe(13);
    expect(new Set(binary).size).toBe(6);
    // Ops with one kind of case keep their plain name.
    expect(labels).toContain('matmul');
  });
});
