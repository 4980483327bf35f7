/** Every benchmark case, in the order the suite runs them. */
import type { BenchCase } from '../harness/types.js';
import { additiveCases } from './additive.js';
import { dispatchCases } from './dispatch.js';
import { matmulCases } from './matmul.js';
import { sdpaCases } from './sdpa.js';
import { softmaxCases } from './softmax.js';
import { trainCases } from './train.js';

export const allCases: BenchCase[] = [
  ...matmulCases,
  ...softmaxCases,
  ...sdpaCases,
  ...additiveCases,
  ...trainCases,
  ...dispatchCases,
];

export interface CaseFilter {
  /** Only the `quick` cases (the smallest sizes). */
  quick?: boolean;
  /** Groups or id prefixes with their `/` (`matmul`, `sdpa-fwd/32x128`); empty: all. */
  cases?: string[];
  /** Keep cases whose main size (`params.size`) is one of these; empty: all. */
  sizes?: number[];
  /** Keep cases whose main size is at most this. */
  maxSize?: number;
}

/** The cases a run selects. @throws Error when a name in `cases` matches nothing (a typo should not run nothing). */
export function selectCases({
  quick = false,
  cases = [],
  sizes = [],
  maxSize = Infinity,
}: CaseFilter): BenchCase[] {
  // `sdpa-fwd` names that group, not also `sdpa-fwd-bwd`: an id prefix must reach into the id's `/` part.
  const matches = (c: BenchCase, name: string) =>
    c.group === name || (name.includes('/') && c.id.startsWith(name));
  for (const name of cases)
    if (!allCases.some((c) => matches(c, name)))
      throw new Error(
        `no benchmark case matches "${name}"; groups: ${[...new Set(allCases.map((c) => c.group))].join(', ')}`,
      );
  return allCases.filter(
    (c) =>
      (!quick || c.quick) &&
      (cases.length === 0 || cases.some((name) => matches(c, name))) &&
      (sizes.length === 0 || sizes.includes(Number(c.params.size))) &&
      // null when the options crossed into the page as JSON (Infinity does not survive it).
      !(Number(c.params.size) > (maxSize ?? Infinity)),
  );
}
