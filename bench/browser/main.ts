/**
 * The Chrome side of `npm run bench`: puppeteer calls `startBench(options)`, then polls `benchState` (short
 * calls, so a long suite never hits the DevTools protocol timeout) and reads the result when it is done.
 */
import { selectCases, type CaseFilter } from '../cases/index.js';
import { createEnv, destroyEnv } from '../harness/env.js';
import type { MeasureOptions } from '../harness/measure.js';
import { speedupLine } from '../harness/report.js';
import { runSuite, type SuiteResult } from '../harness/suite.js';

/** `peerMaxSize`: BenchEnv's (absent: Infinity). */
export type PageOptions = CaseFilter & MeasureOptions & { peerMaxSize?: number };

export interface BenchState {
  status: 'idle' | 'running' | 'done' | 'failed';
  /** Progress lines not yet collected by the runner. */
  log: string[];
  result?: SuiteResult;
  error?: string;
}

declare global {
  interface Window {
    benchState: BenchState;
    startBench(options: PageOptions): void;
  }
}

window.benchState = { status: 'idle', log: [] };

window.startBench = (options) => {
  const state = window.benchState;
  state.status = 'running';
  const log = (line: string) => {
    state.log.push(line);
    document.querySelector('#log')!.textContent += `${line}\n`;
  };
  void (async () => {
    try {
      const cases = selectCases(options);
      const env = await createEnv('browser', options.quick ?? false, options.peerMaxSize ?? Infinity);
      try {
        state.result = await runSuite(env, cases, options, (c, i, r) =>
          log(`${i + 1}/${cases.length} ${c.id}: ${speedupLine(r)}`),
        );
      } finally {
        destroyEnv(env);
      }
      state.status = 'done';
    } catch (e) {
      state.error = e instanceof Error ? (e.stack ?? e.message) : String(e);
      state.status = 'failed';
    }
  })();
};
