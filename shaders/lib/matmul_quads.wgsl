// 4×4 and 16×4 blocks of vec4 rows held in named fields, and their multiply-adds and stores, for the vec4 matmul
// kernels (matmul_subgroup, matmul_texture). The stores write the kernel's `y` (array<vec4f>, rows of N / 4 vec4)
// through `params.m` and `params.n`, which both kernels declare under these names.

// A 4×4 block as four vec4 rows.
struct Quad { r0: vec4f, r1: vec4f, r2: vec4f, r3: vec4f }

// acc + a row's 4 k (av) times the matching 4 rows of op(b) (bq).
fn madd(acc: vec4f, av: vec4f, bq: Quad) -> vec4f {
  return fma(vec4f(av.w), bq.r3, fma(vec4f(av.z), bq.r2, fma(vec4f(av.y), bq.r1, fma(vec4f(av.x), bq.r0, acc))));
}

fn store(z: u32, row: u32, c4: u32, v: vec4f) {
  if (row < params.m) { y[(z * params.m + row) * (params.n / 4u) + c4] = v; }
}

// 16 rows of a 4-column group of y (rows 4·g + i in qg.ri), or of op(a)'s k-block.
struct Rows16 { q0: Quad, q1: Quad, q2: Quad, q3: Quad }

const ZERO16 = Rows16(Quad(vec4f(0.0), vec4f(0.0), vec4f(0.0), vec4f(0.0)),
                      Quad(vec4f(0.0), vec4f(0.0), vec4f(0.0), vec4f(0.0)),
                      Quad(vec4f(0.0), vec4f(0.0), vec4f(0.0), vec4f(0.0)),
                      Quad(vec4f(0.0), vec4f(0.0), vec4f(0.0), vec4f(0.0)));

fn storeQuad(z: u32, row: u32, c4: u32, q: Quad) {
  store(z, row, c4, q.r0);
  store(z, row + 1u, c4, q.r1);
  store(z, row + 2u, c4, q.r2);
  store(z, row + 3u, c4, q.r3);
}

fn store16(z: u32, row: u32, c4: u32, acc: Rows16) {
  storeQuad(z, row, c4, acc.q0);
  storeQuad(z, row + 4u, c4, acc.q1);
  storeQuad(z, row + 8u, c4, acc.q2);
  storeQuad(z, row + 12u, c4, acc.q3);
}
