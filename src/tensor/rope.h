// Rotary position embedding, Hugging Face Llama "rotate-half" layout: within a head of d values,
// element i pairs with element i + d/2 (i < d/2) and the pair is rotated by pos·inv_freq[i]:
//   out[i]       = x[i]       cos - x[i + d/2] sin
//   out[i + d/2] = x[i + d/2] cos + x[i]       sin
// with inv_freq[i] = theta^(-2i/d). The table is computed as transformers does it in fp32, so
// cos/sin match torch to ~1 ulp. (GGUF files store Q/K permuted for the adjacent-pair layout;
// undo that when loading, these kernels assume the HF layout.)
//
//   RopeTable rope = make_rope_table(64, 8192, 100000.0);
//   rope_forward(q, pos, T, n_heads, rope);    // q: [T, n_heads, 64], rotated in place
//   rope_backward(dq, pos, T, n_heads, rope);  // dq rotated back (the transpose) in place
#pragma once

#include <cstdint>
#include <vector>

namespace cipherlora {

struct RopeTable {
  int64_t head_dim = 0;    // d
  int64_t max_pos = 0;     // positions 0 .. max_pos-1 are tabulated
  std::vector<float> cos;  // [max_pos, d/2] row-major
  std::vector<float> sin;  // [max_pos, d/2] row-major
};

// Throws Error unless head_dim is even and positive, max_pos > 0 and theta > 0.
RopeTable make_rope_table(int64_t head_dim, int64_t max_pos, double theta);

// x: [T, H, d] rotated in place (d = rope.head_dim); pos: [T], position of each token's row.
// Throws Error if a position lies outside [0, rope.max_pos).
void rope_forward(float* x, const int32_t* pos, int64_t T, int64_t H, const RopeTable& rope);

// dx: [T, H, d] in place: applies the transpose (inverse) rotation, the gradient of rope_forward.
void rope_backward(float* dx, const int32_t* pos, int64_t T, int64_t H, const RopeTable& rope);

}  // namespace cipherlora
