/**
 * Tensor values as PyTorch prints them (`torch/_tensor_str.py` at the default `torch.set_printoptions`: precision 4,
 * threshold 1000, edgeitems 3, linewidth 80), so a printout reads the same in both: one number format for the whole
 * tensor (`1.` for whole numbers, `0.1000` fixed, `1.0000e-05` scientific when the nonzero magnitudes span more
 * than 1000× or reach 1e8 or go below 1e-4), right-aligned to one width, rows wrapped at 80 columns, and only the
 * first and last 3 entries of each dim when there are more than 1000 elements.
 */
import type { DType } from './tensor.js';

const PRECISION = 4;
const THRESHOLD = 1000;
const EDGE = 3;
const LINE_WIDTH = 80;
const PREFIX = 'tensor(';

/** Python's `{:.4e}`: JavaScript writes `1.0000e-5`, Python `1.0000e-05`. */
function sci(v: number): string {
  return v.toExponential(PRECISION).replace(/e([+-])(\d)$/, 'e$10$2');
}

function special(v: number): string | null {
  if (Number.isNaN(v)) return 'nan';
  if (v === Infinity) return 'inf';
  if (v === -Infinity) return '-inf';
  return null;
}

/**
 * PyTorch's `_Formatter`: one format for the values that will be printed, padded to the widest of them (NaN and
 * ±inf, spelled as Python does, do not widen it).
 */
function formatter(values: number[], dtype: DType): { fmt: (v: number) => string; width: number } {
  if (dtype === 'int32') {
    const width = Math.max(1, ...values.map((v) => String(v).length));
    return { fmt: (v) => String(v).padStart(width), width };
  }
  const nonzero = values.filter((v) => Number.isFinite(v) && v !== 0);
  const abs = nonzero.map(Math.abs);
  const lo = Math.min(...abs);
  const hi = Math.max(...abs);
  const whole = abs.every((v) => Number.isInteger(v));
  const wide = abs.length > 0 && (hi / lo > 1000 || hi > 1e8 || (!whole && lo < 1e-4));
  const body = wide ? sci : whole ? (v: number) => `${v.toFixed(0)}.` : (v: number) => v.toFixed(PRECISION);
  const width = Math.max(1, ...nonzero.map((v) => body(v).length));
  return { fmt: (v) => (special(v) ?? body(v)).padStart(width), width };
}

/** Indices along one dim that are printed; -1 stands for the `...` between the edges. */
function shown(n: number, summarize: boolean): number[] {
  const all = Array.from({ length: n }, (_, i) => i);
  if (!summarize || n <= 2 * EDGE) return all;
  return [...all.slice(0, EDGE), -1, ...all.slice(n - EDGE)];
}

/**
 * `tensor([...], <suffixes>)` for row-major `data` of `shape`; `suffixes` (shape, dtype, …) follow the values, on
 * a new line when they would pass 80 columns, as PyTorch places `dtype=` and `device=`.
 */
export function formatValues(
  data: ArrayLike<number>,
  shape: readonly number[],
  dtype: DType,
  suffixes: string[],
): string {
  const count = shape.reduce((a, b) => a * b, 1);
  const summarize = count > THRESHOLD;
  const strides = shape.map((_, d) => shape.slice(d + 1).reduce((a, b) => a * b, 1));
  // The printed values decide the format, as PyTorch's formatter sees only the summarized data.
  const printed: number[] = [];
  const collect = (d: number, offset: number): void => {
    if (d === shape.length) printed.push(data[offset]);
    else for (const i of shown(shape[d], summarize)) if (i >= 0) collect(d + 1, offset + i * strides[d]);
  };
  if (count > 0) collect(0, 0);
  const { fmt, width } = formatter(printed, dtype);
  const render = (d: number, offset: number, indent: number): string => {
    if (d === shape.length) return fmt(data[offset]);
    const items = shown(shape[d], summarize).map((i) =>
      i < 0 ? (d === shape.length - 1 ? ' ...' : '...') : render(d + 1, offset + i * strides[d], indent + 1),
    );
    if (d < shape.length - 1)
      return `[${items.join(`,${'\n'.repeat(shape.length - 1 - d)}${' '.repeat(indent + 1)}`)}]`;
    const perLine = Math.max(1, Math.floor((LINE_WIDTH - indent) / (width + 2)));
    const lines: string[] = [];
    for (let i = 0; i < items.length; i += perLine) lines.push(items.slice(i, i + perLine).join(', '));
    return `[${lines.join(`,\n${' '.repeat(indent + 1)}`)}]`;
  };
  let out = PREFIX + (count === 0 ? '[]' : render(0, 0, PREFIX.length));
  let lastLine = out.length - out.lastIndexOf('\n') + 1;
  for (const s of suffixes) {
    if (lastLine + s.length + 2 > LINE_WIDTH) {
      out += `,\n${' '.repeat(PREFIX.length)}${s}`;
      lastLine = PREFIX.length + s.length;
    } else {
      out += `, ${s}`;
      lastLine += s.length + 2;
    }
  }
  return `${out})`;
}
