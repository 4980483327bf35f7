// d2l's valid lengths, one encoding for every kernel that masks keys (src/ops/valid_lens.ts): a row is the flat
// index over the scores' leading dims (b·L + i for (B, L, S)), lens_rows the number of consecutive rows sharing one
// length (L for (B) lengths, 1 for (B, L)), 0 when there are none. Reads the kernel's binding
// `lens: array<i32>`, which without lengths is an unread stand-in.

// Row `row`'s valid length; `full` (the key count S) when lens_rows is 0.
fn valid_len(row: u32, lens_rows: u32, full: u32) -> i32 {
  if (lens_rows == 0u) { return i32(full); }
  return lens[row / lens_rows];
}
