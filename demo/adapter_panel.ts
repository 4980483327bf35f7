/**
 * The adapter panel's text: what the browser reports of its WebGPU adapter (GPUAdapterInfo), with "not reported"
 * for each field the browser leaves empty (Chrome gives no `device`, and often no `description`, for privacy), the
 * kernel set and why, the features and the limits.
 */
import type { AdapterReport } from '../src/browser.js';

/** `value`, or "not reported" when the browser gives an empty string. */
const reported = (value: string) => value.trim() || 'not reported';

/**
 * The panel's lines. `forced`: the kernel set came from `?kernels=`.
 * @example `vendor google, architecture swiftshader, device not reported, description not reported`
 */
export function describeAdapter(a: AdapterReport, forced: boolean): string {
  const why = forced
    ? 'forced by ?kernels='
    : `chosen for a ${a.software ? 'CPU-emulated' : 'hardware'} adapter`;
  return [
    (['vendor', 'architecture', 'device', 'description'] as const)
      .map((field) => `${field} ${reported(a[field])}`)
      .join(', '),
    `kernel set: ${a.kernels} (${why}; ?kernels=software|hardware forces one)`,
    `features: ${a.features.join(', ') || '(none)'}`,
    `limits: ${Object.entries(a.limits)
      .map(([k, v]) => `${k}=${v}`)
      .join(', ')}`,
  ].join('\n');
}
