// Independent scalar implementations of the quantized backend's documented arithmetic
// (src/linear/quantizer.h, quantized_backend.h), written straight from the formulas with
// std::nearbyint and int64 sums, for the linear tests to compare against.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

namespace cipherlora::test {

struct RefTokens {
  std::vector<uint16_t> q;   // [T, K]
  std::vector<float> scale;  // [T]
  std::vector<int32_t> zp;   // [T]
};

// Per-token asymmetric quantization of x [T, K] (times col_scale [K] if given).
inline RefTokens ref_quantize_tokens(const float* x, int64_t T, int64_t K, int n_bits,
                                     const float* col_scale = nullptr) {
  const int64_t L = (int64_t{1} << n_bits) - 1;
  RefTokens r{std::vector<uint16_t>(T * K), std::vector<float>(T), std::vector<int32_t>(T)};
  std::vector<float> v(K);
  for (int64_t t = 0; t < T; ++t) {
    float lo = 0.0f, hi = 0.0f;
    for (int64_t k = 0; k < K; ++k) {
      v[k] = col_scale ? x[t * K + k] * col_scale[k] : x[t * K + k];
      lo = std::min(lo, v[k]);
      hi = std::max(hi, v[k]);
    }
    float s = static_cast<float>((static_cast<double>(hi) - static_cast<double>(lo)) / L);
    if (s == 0.0f) s = 1.0f;
    const int64_t zp = std::clamp<int64_t>(static_cast<int64_t>(std::nearbyint(-lo / s)), 0, L);
    for (int64_t k = 0; k < K; ++k)
      r.q[t * K + k] = static_cast<uint16_t>(
          std::clamp<int64_t>(static_cast<int64_t>(std::nearbyint(v[k] / s)) + zp, 0, L));
    r.scale[t] = s;
    r.zp[t] = static_cast<int32_t>(zp);
  }
  return r;
}

struct RefWeights {
  std::vector<int8_t> q;     // [out, in]
  std::vector<float> scale;  // [out]
};

// Per-output-channel symmetric int8 quantization of w [out, in].
inline RefWeights ref_quantize_weights(const float* w, int64_t out, int64_t in) {
  RefWeights r{std::vector<int8_t>(out * in), std::vector<float>(out)};
  for (int64_t j = 0; j < out; ++j) {
    float m = 0.0f;
    for (int64_t i = 0; i < in; ++i) m = std::max(m, std::fabs(w[j * in + i]));
    float s = m / 127.0f;
    if (s == 0.0f) s = 1.0f;
    for (int64_t i = 0; i < in; ++i)
      r.q[j * in + i] = static_cast<int8_t>(
          std::clamp<int64_t>(static_cast<int64_t>(std::nearbyint(w[j * in + i] / s)), -127, 127));
    r.scale[j] = s;
  }
  return r;
}

// The documented dequantization: the exact acc·row·col rounded to double, then to float.
inline float ref_dequantize(int64_t acc, float row, float col) {
  return static_cast<float>(static_cast<double>(acc) *
                            (static_cast<double>(row) * static_cast<double>(col)));
}

// Counts elements whose bit patterns differ (so -0 vs +0 and NaNs count too).
inline int64_t count_bit_differences(const float* a, const float* b, size_t n) {
  int64_t diff = 0;
  for (size_t i = 0; i < n; ++i) diff += std::memcmp(&a[i], &b[i], sizeof(float)) != 0;
  return diff;
}

inline std::vector<float> gaussian_floats(size_t n, uint32_t seed, float sigma = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, sigma);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

}  // namespace cipherlora::test
