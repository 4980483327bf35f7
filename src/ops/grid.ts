/** Dispatch geometry shared by the flat (one thread or one workgroup per element) kernels. */

/** Maximum workgroups per grid dimension guaranteed by WebGPU's default limits. */
const MAX_DIM = 65535;

/**
 * Workgroups for `count` items of `perGroup` each, folded into a 2-D grid past 65535 groups; the kernels rebuild
 * the flat index as `gid.x + gid.y · num_workgroups.x · WG` (or `wid.x + wid.y · num_workgroups.x`).
 */
export function grid(count: number, perGroup = 64): [number, number] {
  const groups = Math.ceil(count / perGroup);
  if (groups <= MAX_DIM) return [groups, 1];
  return [MAX_DIM, Math.ceil(groups / MAX_DIM)];
}
