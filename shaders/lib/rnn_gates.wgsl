// The gate math of the fused GRU and LSTM cells (torch.nn.GRU / LSTM), written once: the backward kernels recompute
// the gates instead of saving them, so they must be exactly the forward's. Reads the kernel's `gi` and `gh`, the
// two projections (B, G·H) in PyTorch's gate-block order (G = 3 for GRU: r, z, n; 4 for LSTM: i, f, g, o), at
// element k = b·H + j of the (B, H) state.

fn sigmoid(v: f32) -> f32 { return 1.0 / (1.0 + exp(-v)); }
// tanh(±15) is ±1 in f32; clamping keeps implementations that form e^2v from overflowing to inf/inf.
fn tanh_safe(v: f32) -> f32 { return tanh(clamp(v, -15.0, 15.0)); }

// `at`: the index of gate block 0 of element k in gi / gh (the others follow H apart).
struct GruGates { at: u32, r: f32, z: f32, n: f32, ghn: f32 }

// r = σ(gi_r + gh_r), z = σ(gi_z + gh_z), n = tanh(gi_n + r ⊙ gh_n).
fn gru_gates(k: u32, hd: u32) -> GruGates {
  let g = (k / hd) * 3u * hd + k % hd;
  let r = sigmoid(gi[g] + gh[g]);
  let z = sigmoid(gi[g + hd] + gh[g + hd]);
  let ghn = gh[g + 2u * hd];
  let n = tanh_safe(gi[g + 2u * hd] + r * ghn);
  return GruGates(g, r, z, n, ghn);
}

struct LstmGates { at: u32, i: f32, f: f32, g: f32, o: f32 }

// a = gi + gh: i = σ(a_i), f = σ(a_f), g = tanh(a_g), o = σ(a_o).
fn lstm_gates(k: u32, hd: u32) -> LstmGates {
  let a = (k / hd) * 4u * hd + k % hd;
  let i = sigmoid(gi[a] + gh[a]);
  let f = sigmoid(gi[a + hd] + gh[a + hd]);
  let g = tanh_safe(gi[a + 2u * hd] + gh[a + 2u * hd]);
  let o = sigmoid(gi[a + 3u * hd] + gh[a + 3u * hd]);
  return LstmGates(a, i, f, g, o);
}
