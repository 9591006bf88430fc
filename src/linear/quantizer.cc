#include "linear/quantizer.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "common/error.h"
#include "tensor/vector_clones.h"

namespace cipherlora {
namespace {

// Row reductions keep kLanes independent partial results so that the compiler can vectorize them
// without reassociating float operations (min/max are exact, so the lane split changes nothing).
constexpr int kLanes = 16;
constexpr int64_t kBlock = 256;  // values quantized per inner block (a stack array)

struct RowRange {
  float lo = 0.0f, hi = 0.0f;  // min(0, min v), max(0, max v)
  bool finite = true;
};

// The range of v[k] = x[k]·col_scale[k] (x[k] when col_scale is nullptr) over K values.
CIPHERLORA_VECTOR_CLONES RowRange row_range(const float* x, const float* col_scale, int64_t K) {
  float lo[kLanes], hi[kLanes], probe[kLanes];
  for (int l = 0; l < kLanes; ++l) lo[l] = hi[l] = probe[l] = 0.0f;
  // std::min(lo, v) is v < lo ? v : lo; written this way g++ 12 vectorizes the lanes.
  // probe stays 0 unless some v is NaN or infinite (inf·0 is NaN); v·0 is exact, so fusing the
  // multiply into the add changes nothing.
  auto update = [&](int l, float v) {
    lo[l] = std::min(lo[l], v);
    hi[l] = std::max(hi[l], v);
    probe[l] = probe[l] + v * 0.0f;
  };
  int64_t k = 0;
  if (col_scale) {
    for (; k + kLanes <= K; k += kLanes)
      for (int l = 0; l < kLanes; ++l) update(l, x[k + l] * col_scale[k + l]);
    for (int l = 0; k < K; ++k, ++l) update(l, x[k] * col_scale[k]);
  } else {
    for (; k + kLanes <= K; k += kLanes)
      for (int l = 0; l < kLanes; ++l) update(l, x[k + l]);
    for (int l = 0; k < K; ++k, ++l) update(l, x[k]);
  }
  RowRange r;
  float p = 0.0f;
  for (int l = 0; l < kLanes; ++l) {
    r.lo = std::min(r.lo, lo[l]);
    r.hi = std::max(r.hi, hi[l]);
    p += probe[l];
  }
  r.finite = p == 0.0f;
  return r;
}

// q[i] = clamp(rhe(v[i] / scale) + zp, 0, L) for n values v as in row_range, as exact integers
// in float. Clamping v/scale to ±(L+1) first changes no result (values beyond saturate anyway) and
// keeps the argument of round_half_even within its domain.
CIPHERLORA_VECTOR_CLONES void quantize_block(const float* x, const float* col_scale, int64_t n,
                                             float scale, float zp, float L, float* q) {
  const float lim = L + 1.0f;
  auto quantize = [&](float v) {
    const float t = std::min(std::max(v / scale, -lim), lim);
    const float qi = round_half_even(t) + zp;  // integers below 2^18: exact
    return std::min(std::max(qi, 0.0f), L);
  };
  if (col_scale) {
    for (int64_t i = 0; i < n; ++i) q[i] = quantize(x[i] * col_scale[i]);
  } else {
    for (int64_t i = 0; i < n; ++i) q[i] = quantize(x[i]);
  }
}

CIPHERLORA_VECTOR_CLONES void store_u16(const float* q, int64_t n, uint16_t* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = static_cast<uint16_t>(static_cast<int32_t>(q[i]));
}

// q = hi·256 + lo; hi may be nullptr when every q < 256.
CIPHERLORA_VECTOR_CLONES void store_bytes(const float* q, int64_t n, uint8_t* lo, uint8_t* hi) {
  if (hi) {
    for (int64_t i = 0; i < n; ++i) {
      const int32_t v = static_cast<int32_t>(q[i]);
      lo[i] = static_cast<uint8_t>(v & 0xff);
      hi[i] = static_cast<uint8_t>(v >> 8);
    }
  } else {
    for (int64_t i = 0; i < n; ++i) lo[i] = static_cast<uint8_t>(static_cast<int32_t>(q[i]));
  }
}

// Quantizes one token row x [K] (see the header for the formula). store(k0, q, n) receives
// q[0..n) for the values k0..k0+n-1. Returns false, storing nothing, if the row holds a
// non-finite value.
template <class Store>
bool quantize_row(const float* x, const float* col_scale, int64_t K, int n_bits, float* scale_out,
                  int32_t* zp_out, Store store) {
  const RowRange r = row_range(x, col_scale, K);
  if (!r.finite) {
    *scale_out = 1.0f;
    *zp_out = 0;
    return false;
  }
  const int32_t L = quant_levels(n_bits);
  const float Lf = static_cast<float>(L);
  float scale = static_cast<float>((static_cast<double>(r.hi) - static_cast<double>(r.lo)) / L);
  if (scale == 0.0f) scale = 1.0f;  // all-zero row (or a range that underflows)
  // -lo/scale <= 1.5·L even when scale is subnormal; min() keeps round_half_even's domain and
  // equals the clamp to [0, L] since rounding is monotone and L is an integer.
  const float zp = round_half_even(std::min(-r.lo / scale, Lf));
  float q[kBlock];
  for (int64_t k0 = 0; k0 < K; k0 += kBlock) {
    const int64_t n = std::min(kBlock, K - k0);
    quantize_block(x + k0, col_scale ? col_scale + k0 : nullptr, n, scale, zp, Lf, q);
    store(k0, q, n);
  }
  *scale_out = scale;
  *zp_out = static_cast<int32_t>(zp);
  return true;
}

// Runs quantize_row over the T rows in parallel; store_row(t) gives the row's store function.
template <class StoreRow>
void quantize_rows(const float* x, int64_t T, int64_t K, int n_bits, float* scale, int32_t* zp,
                   const float* col_scale, StoreRow store_row) {
  check_quant_bits(n_bits, "quantize_per_token");
  int64_t bad_row = -1;
#pragma omp parallel for schedule(static)
  for (int64_t t = 0; t < T; ++t) {
    if (!quantize_row(x + t * K, col_scale, K, n_bits, &scale[t], &zp[t], store_row(t))) {
#pragma omp critical(cipherlora_quantize_bad_row)
      bad_row = bad_row < 0 ? t : std::min(bad_row, t);
    }
  }
  require(bad_row < 0, "quantize: token row " + std::to_string(bad_row) +
                           " holds a non-finite value (NaN or Inf)");
}

// wq[i] = clamp(rhe(w[i] / scale), -127, 127); |w/scale| <= 1.5·127 even for a subnormal scale.
CIPHERLORA_VECTOR_CLONES void quantize_weight_row(const float* w, int64_t n, float scale,
                                                  int8_t* wq) {
  constexpr float kMax = static_cast<float>(kWeightQuantMax);
  for (int64_t i = 0; i < n; ++i) {
    const float q = round_half_even(w[i] / scale);
    wq[i] = static_cast<int8_t>(std::min(std::max(q, -kMax), kMax));
  }
}

}  // namespace

void check_quant_bits(int n_bits, const char* what) {
  require(n_bits >= kMinQuantBits && n_bits <= kMaxQuantBits,
          std::string(what) + ": n_bits must be in [" + std::to_string(kMinQuantBits) + ", " +
              std::to_string(kMaxQuantBits) + "], got " + std::to_string(n_bits));
}

void quantize_per_token(const float* x, int64_t T, int64_t K, int n_bits, uint16_t* q, float* scale,
                        int32_t* zp, const float* col_scale) {
  quantize_rows(x, T, K, n_bits, scale, zp, col_scale, [&](int64_t t) {
    return [qt = q + t * K](int64_t k0, const float* qf, int64_t n) { store_u16(qf, n, qt + k0); };
  });
}

void quantize_per_token_bytes(const float* x, int64_t T, int64_t K, int n_bits, uint8_t* q_lo,
                              uint8_t* q_hi, float* scale, int32_t* zp, const float* col_scale) {
  require(q_hi != nullptr || n_bits <= 8,
          "quantize_per_token_bytes: n_bits " + std::to_string(n_bits) + " needs the high byte");
  quantize_rows(x, T, K, n_bits, scale, zp, col_scale, [&](int64_t t) {
    uint8_t* lo = q_lo + t * K;
    uint8_t* hi = q_hi ? q_hi + t * K : nullptr;
    return [lo, hi](int64_t k0, const float* qf, int64_t n) {
      store_bytes(qf, n, lo + k0, hi ? hi + k0 : nullptr);
    };
  });
}

void quantize_weight_per_channel(const float* w, int64_t out, int64_t in, int8_t* wq,
                                 float* w_scale) {
  int64_t bad_row = -1;
#pragma omp parallel for schedule(static)
  for (int64_t j = 0; j < out; ++j) {
    const RowRange r = row_range(w + j * in, nullptr, in);
    if (!r.finite) {
#pragma omp critical(cipherlora_quantize_bad_row)
      bad_row = bad_row < 0 ? j : std::min(bad_row, j);
      continue;
    }
    float scale = std::max(-r.lo, r.hi) / static_cast<float>(kWeightQuantMax);
    if (scale == 0.0f) scale = 1.0f;  // all-zero row (or one that underflows)
    quantize_weight_row(w + j * in, in, scale, wq + j * in);
    w_scale[j] = scale;
  }
  require(bad_row < 0, "quantize weight: output channel " + std::to_string(bad_row) +
                           " holds a non-finite value (NaN or Inf)");
}

}  // namespace cipherlora
