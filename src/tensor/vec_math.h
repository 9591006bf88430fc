// Vectorizable math for the kernels in src/tensor/ (internal; not part of the kernel API).
//
// std::exp is an opaque libm call that keeps loops scalar, and softmax over a 49152-word
// vocabulary or T×T attention scores is dominated by exp. exp_f32 is branch-free plain
// arithmetic, so loops that call it vectorize; it is accurate to ~1 ulp over the whole fp32 range
// (tested against double-precision exp in vec_math_test.cc).
//
// CIPHERLORA_SIMD_CLONES compiles a function for AVX-512, AVX2 and baseline x86-64, picking one
// at load time. GCC outlines OpenMP parallel bodies before it clones, so put it on the per-row
// helper called inside a parallel loop, not on the function that holds the pragma.
//
//   CIPHERLORA_SIMD_CLONES static void exp_row(float* x, int64_t n) {
//     for (int64_t i = 0; i < n; ++i) x[i] = exp_f32(x[i]);
//   }
#pragma once

#include <bit>
#include <cstdint>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define CIPHERLORA_SIMD_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define CIPHERLORA_SIMD_CLONES
#endif

namespace cipherlora {

// e^x in fp32. Cephes-style: x = n·ln2 + r with |r| <= ln2/2, e^r by a degree-7 polynomial,
// and 2^n applied as two factors 2^(n/2)·2^(n-n/2) so that overflow gives inf and deep negative
// inputs underflow gracefully to 0 (through subnormals). NaN in -> NaN out (the clamps compare
// false on NaN and pass it through).
inline float exp_f32(float x) {
  // Below -104, e^x is under half the smallest subnormal; above 89 it overflows. Clamp with bit
  // masks, not ?: — GCC turns a ?: clamp into a jump to a constant-folded e^lo, and that
  // control flow keeps the loop scalar.
  const float lo = -104.0f, hi = 89.0f;
  const int32_t below = -static_cast<int32_t>(x < lo);  // all ones when true
  const int32_t above = -static_cast<int32_t>(x > hi);
  int32_t xb = std::bit_cast<int32_t>(x);
  xb = (xb & ~below) | (std::bit_cast<int32_t>(lo) & below);
  xb = (xb & ~above) | (std::bit_cast<int32_t>(hi) & above);
  const float xc = std::bit_cast<float>(xb);
  // Round x·log2(e) to the nearest integer with the 1.5·2^23 trick: the integer lands in the low
  // mantissa bits of t (we compile without -ffast-math, so the add/sub is not folded away).
  const float magic = 12582912.0f;
  float t = xc * 1.44269504088896341f + magic;
  float n = t - magic;
  int32_t ni = std::bit_cast<int32_t>(t) - std::bit_cast<int32_t>(magic);
  // r = x - n·ln2 in two steps (Cody-Waite): n·ln2_hi is exact, ln2_lo carries the rest.
  float r = xc - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  float y = p * (r * r) + r + 1.0f;
  int32_t n1 = ni >> 1;
  int32_t n2 = ni - n1;
  float s1 = std::bit_cast<float>((n1 + 127) << 23);
  float s2 = std::bit_cast<float>((n2 + 127) << 23);
  return y * s1 * s2;
}

}  // namespace cipherlora
