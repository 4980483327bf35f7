/**
 * The CPU's FP32 multiply-add peak (bench/peak/fma_peak.c: AVX2 FMA chains on every core), the yardstick for our
 * GFLOP/s on CPU-emulated adapters, where the "GPU" is these cores. Built with the system's C compiler into a
 * temporary folder, run three times, best kept. Node only; a run in Chrome reuses the Node runner's measurement.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The peak, or why it could not be measured. */
export type CpuPeak = { gflops: number; threads: number; how: string } | { unavailable: string };

const SOURCE = fileURLToPath(new URL('../peak/fma_peak.c', import.meta.url));

/** Builds and runs fma_peak.c (`cc`, else `gcc`); never throws: a missing compiler or CPU feature is reported. */
export async function measureCpuPeak(): Promise<CpuPeak> {
  const dir = await mkdtemp(join(tmpdir(), 'fma-peak-'));
  try {
    const bin = join(dir, 'fma_peak');
    let compiler = '';
    for (const cc of ['cc', 'gcc']) {
      try {
        await run(cc, ['-O2', '-mavx2', '-mfma', '-pthread', SOURCE, '-o', bin]);
        compiler = cc;
        break;
      } catch {
        // try the next one
      }
    }
    if (!compiler) return { unavailable: 'no C compiler (cc or gcc) could build bench/peak/fma_peak.c' };
    let best: { gflops: number; threads: number } | null = null;
    for (let i = 0; i < 3; i++) {
      const { stdout } = await run(bin);
      const r = JSON.parse(stdout) as { gflops: number; threads: number };
      if (!best || r.gflops > best.gflops) best = r;
    }
    return {
      ...best!,
      how: `bench/peak/fma_peak.c (${compiler} -O2 -mavx2 -mfma): 12 FMA chains of 8 floats per core, ${best!.threads} threads, best of 3`,
    };
  } catch (e) {
    return { unavailable: `fma_peak failed: ${e instanceof Error ? e.message : String(e)}` };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
