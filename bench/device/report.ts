/** The device run's results: bench/run.ts's file with the budget and what it left out, and the budget's arithmetic. */
import { markdown, type RunFile } from '../harness/report.js';
import type { BenchCase } from '../harness/types.js';

/** What pack.ts records beside the bundle (the GPU machine has no git and no node_modules to read). */
export interface PackInfo {
  commit: string;
  packed: string;
  jaxVersion?: string;
  node: string;
}

/** A case the run did not measure. */
export interface Unmeasured {
  id: string;
  reason: string;
}

/** The results file: bench/run.ts's, with the device run's budget and what it left out. */
export interface DeviceRunFile extends RunFile {
  device: {
    profile: string;
    quick: boolean;
    budgetS: number;
    elapsedS: number;
    /** The case running when the file was written; set only while it runs (a killed run leaves it). */
    running?: string;
    skipped: Unmeasured[];
    failed: Unmeasured[];
    /** Seconds each measured case took, setup and validation included. */
    caseSeconds: Record<string, number>;
  };
}

export interface Done {
  c: BenchCase;
  seconds: number;
}

/**
 * Seconds `c` should take, from the group's measured cases: on the line through the two with the most
 * floating-point work (it is their time per FLOP that holds for larger cases; the smallest are mostly fixed cost),
 * never below the group's quickest. When that line does not rise (noise, a first case that paid for warming up),
 * with one measured case, or without FLOP counts, the largest case's time scaled up by the work ratio, which
 * over-estimates. A group not seen yet predicts 0: the profile runs each group's smallest case first.
 */
export function predictSeconds(c: BenchCase, done: Done[]): number {
  const same = done.filter((d) => d.c.group === c.group);
  if (same.length === 0) return 0;
  const counted = same.filter((d) => d.c.flops).sort((x, y) => x.c.flops! - y.c.flops!);
  const b = counted.at(-1);
  if (!c.flops || !b) return Math.max(...same.map((d) => d.seconds));
  const scaled = b.seconds * Math.max(1, c.flops / b.c.flops!);
  const a = counted.at(-2);
  if (!a || !(b.c.flops! > a.c.flops!)) return scaled;
  const slope = (b.seconds - a.seconds) / (b.c.flops! - a.c.flops!);
  if (!(slope > 0)) return scaled;
  return Math.max(Math.min(...same.map((d) => d.seconds)), b.seconds + slope * (c.flops - b.c.flops!));
}

/** bench/run.ts's tables, then what the budget left out and what failed. */
export function deviceMarkdown(f: DeviceRunFile): string {
  const d = f.device;
  const lines = [
    `## Device run: profile ${d.profile}${d.quick ? ' (quick)' : ''}`,
    '',
    `${f.cases.length} cases measured in ${d.elapsedS} s of a ${d.budgetS} s budget` +
      `${d.skipped.length ? `, ${d.skipped.length} skipped` : ''}${d.failed.length ? `, ${d.failed.length} FAILED` : ''}.`,
    '',
  ];
  if (d.running) lines.push(`**Cut off while running ${d.running}.**`, '');
  if (f.cases.length) lines.push(markdown(f));
  if (d.failed.length) lines.push('#### Failed', '', ...d.failed.map((x) => `- ${x.id}: ${x.reason}`), '');
  if (d.skipped.length) lines.push('#### Skipped', '', ...d.skipped.map((x) => `- ${x.id}: ${x.reason}`), '');
  return lines.join('\n');
}
