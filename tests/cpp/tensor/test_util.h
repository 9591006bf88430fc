// Helpers shared by the tensor kernel tests: seeded random data, closeness checks against
// double-precision references, and central finite differences of a double-precision function.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

namespace cipherlora::test {

inline std::vector<float> random_floats(size_t n, uint32_t seed, float lo = -1.0f,
                                        float hi = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

inline std::vector<double> to_double(const std::vector<float>& v) {
  return std::vector<double>(v.begin(), v.end());
}

// Expects |got[i] - want[i]| <= atol + rtol·|want[i]| for all i, reporting the first few misses.
inline void expect_close(const float* got, const double* want, size_t n, double rtol, double atol,
                         const std::string& what) {
  int misses = 0;
  for (size_t i = 0; i < n; ++i) {
    const double err = std::fabs(static_cast<double>(got[i]) - want[i]);
    if (!(err <= atol + rtol * std::fabs(want[i]))) {
      if (++misses <= 5)
        ADD_FAILURE() << what << "[" << i << "]: got " << got[i] << ", want " << want[i] << " (err "
                      << err << ")";
    }
  }
  EXPECT_EQ(misses, 0) << what << ": " << misses << " of " << n << " elements differ";
}

inline void expect_close(const std::vector<float>& got, const std::vector<double>& want,
                         double rtol, double atol, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  expect_close(got.data(), want.data(), got.size(), rtol, atol, what);
}

// Central difference (f(x + h e_i) - f(x - h e_i)) / 2h for each i in `indices` (all if empty).
// Entries not in `indices` are left NaN.
inline std::vector<double> finite_difference(
    const std::function<double(const std::vector<double>&)>& f, std::vector<double> x,
    std::vector<size_t> indices = {}, double h = 1e-5) {
  if (indices.empty())
    for (size_t i = 0; i < x.size(); ++i) indices.push_back(i);
  std::vector<double> grad(x.size(), NAN);
  for (size_t i : indices) {
    const double x0 = x[i];
    x[i] = x0 + h;
    const double fp = f(x);
    x[i] = x0 - h;
    const double fm = f(x);
    x[i] = x0;
    grad[i] = (fp - fm) / (2 * h);
  }
  return grad;
}

// Expects got[i] ≈ want[i] at the given indices (all if empty).
inline void expect_close_at(const std::vector<float>& got, const std::vector<double>& want,
                            const std::vector<size_t>& indices, double rtol, double atol,
                            const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  std::vector<float> g;
  std::vector<double> w;
  if (indices.empty()) {
    g = got;
    w = want;
  } else {
    for (size_t i : indices) {
      g.push_back(got[i]);
      w.push_back(want[i]);
    }
  }
  expect_close(g.data(), w.data(), g.size(), rtol, atol, what);
}

// `count` distinct-ish random indices below n (seeded).
inline std::vector<size_t> sample_indices(size_t n, size_t count, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<size_t> idx;
  for (size_t i = 0; i < count; ++i) idx.push_back(rng() % n);
  return idx;
}

}  // namespace cipherlora::test
