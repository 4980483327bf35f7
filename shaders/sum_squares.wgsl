// y[offset + t] = Σ_i x_t[i]² for the up to 7 tensors x0…x6 bound to one dispatch (squared L2 norms, the first
// step of torch.nn.utils.clip_grad_norm_); tensors past `count` are unread 1-element dummies.
// Shapes: x_t (n_t) flat, any length; y (P), the norms of all P tensors the op was given (one dispatch per 7).
// Dispatch: one workgroup of WG threads per tensor (`count` workgroups); threads stride over x_t, then a tree
// reduction. Backward: none (clipGradNorm runs it without gradients).
// #import workgroup_sum from "lib/reduce.wgsl"
override WG: u32 = 64u;

struct Params { n0: u32, n1: u32, n2: u32, n3: u32, n4: u32, n5: u32, n6: u32, offset: u32 }

@group(0) @binding(0) var<storage, read> x0: array<f32>;
@group(0) @binding(1) var<storage, read> x1: array<f32>;
@group(0) @binding(2) var<storage, read> x2: array<f32>;
@group(0) @binding(3) var<storage, read> x3: array<f32>;
@group(0) @binding(4) var<storage, read> x4: array<f32>;
@group(0) @binding(5) var<storage, read> x5: array<f32>;
@group(0) @binding(6) var<storage, read> x6: array<f32>;
@group(0) @binding(7) var<storage, read_write> y: array<f32>;
@group(0) @binding(8) var<uniform> params: Params;

// WGSL cannot index bindings, so tensor t is picked by a switch.
fn size(t: u32) -> u32 {
  switch t {
    case 0u: { return params.n0; }
    case 1u: { return params.n1; }
    case 2u: { return params.n2; }
    case 3u: { return params.n3; }
    case 4u: { return params.n4; }
    case 5u: { return params.n5; }
    default: { return params.n6; }
  }
}

fn load(t: u32, i: u32) -> f32 {
  switch t {
    case 0u: { return x0[i]; }
    case 1u: { return x1[i]; }
    case 2u: { return x2[i]; }
    case 3u: { return x3[i]; }
    case 4u: { return x4[i]; }
    case 5u: { return x5[i]; }
    default: { return x6[i]; }
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let t = wid.x;
  let n = size(t);
  var acc = 0.0;
  for (var i = lid.x; i < n; i += WG) {
    let v = load(t, i);
    acc += v * v;
  }
  acc = workgroup_sum(lid.x, acc);
  if (lid.x == 0u) { y[params.offset + t] = acc; }
}
