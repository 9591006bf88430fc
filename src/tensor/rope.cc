#include "tensor/rope.h"

#include <cmath>
#include <string>

#include "common/error.h"
#include "tensor/vec_math.h"

namespace cipherlora {

RopeTable make_rope_table(int64_t head_dim, int64_t max_pos, double theta) {
  require(head_dim > 0 && head_dim % 2 == 0,
          "rope: head_dim must be even and positive, got " + std::to_string(head_dim));
  require(max_pos > 0, "rope: max_pos must be positive, got " + std::to_string(max_pos));
  require(theta > 0.0, "rope: theta must be positive, got " + std::to_string(theta));
  const int64_t half = head_dim / 2;
  RopeTable t;
  t.head_dim = head_dim;
  t.max_pos = max_pos;
  t.cos.resize(static_cast<size_t>(max_pos * half));
  t.sin.resize(static_cast<size_t>(max_pos * half));
  // transformers: inv_freq = 1.0 / (base ** (arange(0, d, 2).float() / d)), all in fp32; then
  // freqs = pos.float() * inv_freq in fp32 and cos/sin of that fp32 angle. Each fp32 operation is
  // reproduced here by rounding a double-precision result to float.
  const float base = static_cast<float>(theta);
  std::vector<float> inv_freq(static_cast<size_t>(half));
  for (int64_t i = 0; i < half; ++i) {
    float exponent = static_cast<float>(2 * i) / static_cast<float>(head_dim);
    float p =
        static_cast<float>(std::pow(static_cast<double>(base), static_cast<double>(exponent)));
    inv_freq[i] = 1.0f / p;
  }
  for (int64_t p = 0; p < max_pos; ++p) {
    for (int64_t i = 0; i < half; ++i) {
      float angle = static_cast<float>(p) * inv_freq[i];
      t.cos[p * half + i] = static_cast<float>(std::cos(static_cast<double>(angle)));
      t.sin[p * half + i] = static_cast<float>(std::sin(static_cast<double>(angle)));
    }
  }
  return t;
}

static void check_positions(const int32_t* pos, int64_t T, const RopeTable& rope) {
  for (int64_t t = 0; t < T; ++t) {
    require(pos[t] >= 0 && pos[t] < rope.max_pos,
            "rope: position " + std::to_string(pos[t]) + " of token " + std::to_string(t) +
                " is outside the table [0, " + std::to_string(rope.max_pos) + ")");
  }
}

// Rotates one token's H heads by the angles in (c, s): [half] each. sign = +1 for the forward
// rotation, -1 for its transpose (rotation by the negative angle).
CIPHERLORA_SIMD_CLONES static void rotate_heads(float* x, const float* c, const float* s, int64_t H,
                                                int64_t half, float sign) {
  for (int64_t h = 0; h < H; ++h) {
    float* a = x + h * 2 * half;
    float* b = a + half;
    for (int64_t i = 0; i < half; ++i) {
      float si = sign * s[i];
      float ai = a[i], bi = b[i];
      // Same operation order as HF: x*cos + rotate_half(x)*sin.
      a[i] = ai * c[i] + (-bi) * si;
      b[i] = bi * c[i] + ai * si;
    }
  }
}

static void rope_apply(float* x, const int32_t* pos, int64_t T, int64_t H, const RopeTable& rope,
                       float sign) {
  check_positions(pos, T, rope);
  const int64_t half = rope.head_dim / 2;
  const float* cos = rope.cos.data();
  const float* sin = rope.sin.data();
#pragma omp parallel for schedule(static)
  for (int64_t t = 0; t < T; ++t) {
    const int64_t p = pos[t];
    rotate_heads(x + t * H * rope.head_dim, cos + p * half, sin + p * half, H, half, sign);
  }
}

void rope_forward(float* x, const int32_t* pos, int64_t T, int64_t H, const RopeTable& rope) {
  rope_apply(x, pos, T, H, rope, 1.0f);
}

void rope_backward(float* dx, const int32_t* pos, int64_t T, int64_t H, const RopeTable& rope) {
  rope_apply(dx, pos, T, H, rope, -1.0f);
}

}  // namespace cipherlora
