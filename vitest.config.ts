import { defineConfig } from 'vitest/config';

/**
 * Two projects, one per kernel set (src/runtime/kernel_set.ts), forced through WEBGPU_ATTENTION_KERNELS: every test
 * runs with the software kernels, and the kernel checks (the registry against the float64 references and finite
 * differences, attention, the PyTorch parity tests) run again with the hardware kernels, which this machine's
 * CPU-emulated adapter would never pick on its own.
 */
const hardwareFiles = [
  'test/registry.test.ts',
  'test/attention.test.ts',
  'test/parity.test.ts',
  'test/multi_head_attention.test.ts',
];

export default defineConfig({
  test: {
    // One WebGPU device per worker; lavapipe has only 2 cores to share.
    fileParallelism: false,
    testTimeout: 600_000,
    hookTimeout: 120_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'software',
          include: ['test/**/*.test.ts'],
          env: { WEBGPU_ATTENTION_KERNELS: 'software' },
        },
      },
      {
        extends: true,
        test: {
          name: 'hardware',
          include: hardwareFiles,
          env: { WEBGPU_ATTENTION_KERNELS: 'hardware' },
        },
      },
    ],
  },
});
