/*
 * The CPU's FP32 multiply-add peak, the yardstick for matmul on CPU-emulated adapters (lavapipe runs our kernels on
 * these cores): one thread per core, each running AVX2 FMAs (vfmadd231ps on 8 floats) on 12 independent accumulator
 * registers, one dependency chain per register, enough to cover the FMA latency (4 cycles) on 2 ports. Prints one
 * JSON line: {"gflops": …, "threads": …, "seconds": …}. Built and run by bench/harness/cpu_peak.ts:
 *   cc -O2 -mavx2 -mfma -pthread fma_peak.c -o fma_peak && ./fma_peak [threads]
 */
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define ITERATIONS 3000000000L
#define CHAINS 12

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

static float sink[64];

static void *run(void *arg) {
  long id = (long)arg;
  __m256 a[CHAINS];
  const __m256 x = _mm256_set1_ps(0.999999f), y = _mm256_set1_ps(1e-7f);
  for (int c = 0; c < CHAINS; c++) a[c] = _mm256_set1_ps((float)(c + id));
  for (long i = 0; i < ITERATIONS / CHAINS; i++) {
    /* Written out so that the compiler keeps 12 registers and no loads in the loop. */
    a[0] = _mm256_fmadd_ps(a[0], x, y);
    a[1] = _mm256_fmadd_ps(a[1], x, y);
    a[2] = _mm256_fmadd_ps(a[2], x, y);
    a[3] = _mm256_fmadd_ps(a[3], x, y);
    a[4] = _mm256_fmadd_ps(a[4], x, y);
    a[5] = _mm256_fmadd_ps(a[5], x, y);
    a[6] = _mm256_fmadd_ps(a[6], x, y);
    a[7] = _mm256_fmadd_ps(a[7], x, y);
    a[8] = _mm256_fmadd_ps(a[8], x, y);
    a[9] = _mm256_fmadd_ps(a[9], x, y);
    a[10] = _mm256_fmadd_ps(a[10], x, y);
    a[11] = _mm256_fmadd_ps(a[11], x, y);
    /* An empty asm that "uses" every accumulator: the compiler may neither fold the chains nor drop the loop. */
    __asm__ volatile("" : "+x"(a[0]), "+x"(a[1]), "+x"(a[2]), "+x"(a[3]), "+x"(a[4]), "+x"(a[5]));
    __asm__ volatile("" : "+x"(a[6]), "+x"(a[7]), "+x"(a[8]), "+x"(a[9]), "+x"(a[10]), "+x"(a[11]));
  }
  __m256 s = a[0];
  for (int c = 1; c < CHAINS; c++) s = _mm256_add_ps(s, a[c]);
  float out[8];
  _mm256_storeu_ps(out, s);
  sink[id % 64] = out[0];
  return NULL;
}

int main(int argc, char **argv) {
  long threads = argc > 1 ? atol(argv[1]) : sysconf(_SC_NPROCESSORS_ONLN);
  if (threads < 1 || threads > 1024) {
    fprintf(stderr, "fma_peak: threads must be 1..1024, got %ld\n", threads);
    return 2;
  }
  pthread_t *tid = malloc(sizeof(pthread_t) * threads);
  double t0 = now();
  for (long t = 0; t < threads; t++) pthread_create(&tid[t], NULL, run, (void *)t);
  for (long t = 0; t < threads; t++) pthread_join(tid[t], NULL);
  double seconds = now() - t0;
  /* 2 flops per lane, 8 lanes per FMA. */
  double flops = 2.0 * 8.0 * (double)(ITERATIONS / CHAINS * CHAINS) * (double)threads;
  printf("{\"gflops\": %.1f, \"threads\": %ld, \"seconds\": %.3f}\n", flops / seconds / 1e9, threads, seconds);
  free(tid);
  return 0;
}
