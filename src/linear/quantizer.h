// The quantizers of the `quantized` and `encrypted` linear backends: activations (and gradients)
// per token, asymmetric unsigned; weights per output channel, symmetric int8; and the one
// dequantization formula. Both backends call these same functions so that their integers, and
// hence their outputs, are bit-identical (DESIGN.md, "The encrypted matmul").
//
//   quantize_per_token(x, T, K, 8, q, scale, zp);   // x [T, K] -> q [T, K], scale [T], zp [T]
//   // x[t,k] ≈ (q[t,k] - zp[t]) * scale[t], and x[t,k] == 0 gives q[t,k] == zp[t] exactly.
//
// Arithmetic, exactly (rhe = round half to even; L = 2^n_bits - 1; all fp32 unless stated):
//   per token t of v[t,k] = x[t,k]  (or x[t,k] * col_scale[k], one fp32 multiply, when given)
//     lo = min(0, min_k v)   hi = max(0, max_k v)          (so 0 is exactly representable)
//     scale[t] = (float)(((double)hi - (double)lo) / L)    (double so that hi - lo cannot
//                                                           overflow); 1 if that is 0
//     zp[t]    = clamp(rhe(-lo / scale[t]), 0, L)
//     q[t,k]   = clamp(rhe(v / scale[t]) + zp[t], 0, L)
//   per output channel j of w[j,i]:
//     w_scale[j] = max_i |w[j,i]| / 127                    (1 if that is 0)
//     wq[j,i]    = clamp(rhe(w[j,i] / w_scale[j]), -127, 127)
//   dequantization of an exact integer product acc:
//     y = (float)((double)acc * ((double)row_scale * (double)col_scale))
//   The product of two floats is exact in double (24 + 24 bits < 53), and acc converts to double
//   exactly while |acc| < 2^53, so y is the exact real acc·row_scale·col_scale rounded to double,
//   then to float.
// Every step is a fixed sequence of correctly rounded IEEE-754 operations (no FMA can form: no
// step adds a product), so results are identical on any conforming machine and any thread count.
// Non-finite inputs throw Error. Builds must not use -ffast-math.
#pragma once

#include <cfloat>
#include <cstdint>
#include <limits>

namespace cipherlora {

static_assert(std::numeric_limits<float>::is_iec559 && std::numeric_limits<double>::is_iec559,
              "the quantizers need IEEE-754 float and double");
static_assert(FLT_EVAL_METHOD == 0, "the quantizers need float math evaluated in float");

constexpr int kMinQuantBits = 2;
constexpr int kMaxQuantBits = 16;
constexpr int32_t kWeightQuantMax = 127;

// Throws Error unless kMinQuantBits <= n_bits <= kMaxQuantBits. `what` names the caller.
void check_quant_bits(int n_bits, const char* what);

// The largest quantized value, 2^n_bits - 1.
inline int32_t quant_levels(int n_bits) {
  return static_cast<int32_t>((1u << n_bits) - 1);
}

// Rounds to the nearest integer, ties to even, for |v| <= 2^22: adding 1.5·2^23 moves v into the
// binade where one ulp is 1, so the FPU's round-to-nearest-even does the rounding.
inline float round_half_even(float v) {
  constexpr float kShift = 12582912.0f;  // 1.5 * 2^23
  return (v + kShift) - kShift;
}

// Quantizes each row (token) of x [T, K] row-major to n_bits: q [T, K], scale [T], zp [T].
// col_scale [K] (or nullptr) multiplies column k before quantizing; the backward pass uses it to
// fold the per-channel weight scale into the gradient.
void quantize_per_token(const float* x, int64_t T, int64_t K, int n_bits, uint16_t* q, float* scale,
                        int32_t* zp, const float* col_scale = nullptr);

// The same quantization, stored as byte limbs q = q_hi·256 + q_lo (each [T, K]) for the
// u8 × s8 dot-product units. q_hi may be nullptr when n_bits <= 8 (it would be all zero).
void quantize_per_token_bytes(const float* x, int64_t T, int64_t K, int n_bits, uint8_t* q_lo,
                              uint8_t* q_hi, float* scale, int32_t* zp,
                              const float* col_scale = nullptr);

// Quantizes each row (output channel) of w [out, in] row-major: wq [out, in], w_scale [out].
void quantize_weight_per_channel(const float* w, int64_t out, int64_t in, int8_t* wq,
                                 float* w_scale);

// The dequantization formula above. Backward passes col_scale = 1.
inline float dequantize(int64_t acc, float row_scale, float col_scale) {
  return static_cast<float>(static_cast<double>(acc) *
                            (static_cast<double>(row_scale) * static_cast<double>(col_scale)));
}

}  // namespace cipherlora
