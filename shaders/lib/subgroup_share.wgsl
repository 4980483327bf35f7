// For the _subgroup kernels (which `enable subgroups`): lane t of each KB-lane group loads one vec4 and share()
// hands every lane all KB of them, so KB loads per lane become one (lavapipe gathers every load per lane). Reads the
// kernel's const KB, at most the subgroup size.

// Lanes 0 … KB − 1's vec4, in every lane: subgroupBroadcast with constant lanes, which lavapipe lowers to one
// extract each (subgroupShuffle by a loop index was slower than the loads it saves).
fn share(x: vec4f) -> array<vec4f, KB> {
  return array<vec4f, KB>(subgroupBroadcast(x, 0u), subgroupBroadcast(x, 1u), subgroupBroadcast(x, 2u),
                          subgroupBroadcast(x, 3u), subgroupBroadcast(x, 4u), subgroupBroadcast(x, 5u),
                          subgroupBroadcast(x, 6u), subgroupBroadcast(x, 7u));
}
