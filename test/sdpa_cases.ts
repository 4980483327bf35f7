/** Case builders shared by the fused attention kernel tests (tiled forward and backward, subgroup forward). */
import { sdpaAttrs } from '../src/ops/sdpa_fused.js';
import type { SdpaAttrs } from '../src/ops/sdpa_reference.js';
import type { Engine } from '../src/runtime/engine.js';
import type { OpCase } from '../src/runtime/op.js';
import { formatShape } from '../src/runtime/tensor.js';

/** A test name from the case's name, input shapes and attributes. */
export const label = (c: OpCase<SdpaAttrs>) =>
  `${c.name ?? ''} ${c.inputs.map((s) => formatShape(s.shape)).join(' ')} ${JSON.stringify(c.attrs)}`;

/** (B, L, S, D, Dv) with optional lens values: (B) when there are B of them, else (B, L). */
export function sdpaCase(
  name: string,
  [b, l, s, d, dv]: number[],
  attrs: Partial<SdpaAttrs> = {},
  lens?: number[],
): OpCase<SdpaAttrs> {
  const lensShape = lens?.length === b ? [b] : [b, l];
  return {
    name,
    inputs: [
      { shape: [b, l, d] },
      { shape: [b, s, d] },
      { shape: [b, s, dv] },
      ...(lens ? [{ shape: lensShape, dtype: 'int32' as const, fill: { values: lens } }] : []),
    ],
    attrs: { ...sdpaAttrs(d), ...attrs },
  };
}

/** Whether this engine's device has subgroups of `minLanes` to 64 lanes. */
function subgroupsFrom(engine: Engine, minLanes: number): boolean {
  const info = engine.gpu!.adapter.info;
  return (
    engine.profile.subgroups && (info.subgroupMinSize ?? 0) >= minLanes && (info.subgroupMaxSize ?? 0) <= 64
  );
}

/** Whether the software plans take the _subgroup attention kernels here (subgroups of 8 to 64 lanes). */
export const subgroupKernels = (engine: Engine) => subgroupsFrom(engine, 8);

/** Whether the software plans take the _named attention kernels here for head dims up to 64 (4 to 64 lanes). */
export const namedKernels = (engine: Engine) => subgroupsFrom(engine, 4);
