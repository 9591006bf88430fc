#include "tensor/attention.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "common/error.h"
#include "tensor/test_util.h"

namespace cipherlora {
namespace {

struct Dims {
  int64_t B, T, Hq, Hkv, d;
};

// Naive double-precision causal GQA attention: out [B,T,Hq,d] and lse [B,Hq,T].
void attention_ref(const std::vector<double>& q, const std::vector<double>& k,
                   const std::vector<double>& v, Dims s, double scale, std::vector<double>& out,
                   std::vector<double>& lse) {
  out.assign(s.B * s.T * s.Hq * s.d, 0.0);
  lse.assign(s.B * s.Hq * s.T, 0.0);
  std::vector<double> w(s.T);
  for (int64_t b = 0; b < s.B; ++b)
    for (int64_t h = 0; h < s.Hq; ++h) {
      const int64_t g = h / (s.Hq / s.Hkv);
      for (int64_t t = 0; t < s.T; ++t) {
        const double* qr = &q[((b * s.T + t) * s.Hq + h) * s.d];
        double m = -INFINITY;
        for (int64_t j = 0; j <= t; ++j) {
          const double* kr = &k[((b * s.T + j) * s.Hkv + g) * s.d];
          double dot = 0;
          for (int64_t c = 0; c < s.d; ++c) dot += qr[c] * kr[c];
          w[j] = dot * scale;
          m = std::max(m, w[j]);
        }
        double sum = 0;
        for (int64_t j = 0; j <= t; ++j) sum += std::exp(w[j] - m);
        lse[(b * s.Hq + h) * s.T + t] = m + std::log(sum);
        double* o = &out[((b * s.T + t) * s.Hq + h) * s.d];
        for (int64_t j = 0; j <= t; ++j) {
          const double p = std::exp(w[j] - m) / sum;
          const double* vr = &v[((b * s.T + j) * s.Hkv + g) * s.d];
          for (int64_t c = 0; c < s.d; ++c) o[c] += p * vr[c];
        }
      }
    }
}

// Checks forward against the double reference and the backward against central differences of
// L = Σ dout · out, at `samples` random coordinates per input (all coordinates if 0).
void check_attention(Dims s, size_t samples, uint32_t seed) {
  const float scale = 1.0f / std::sqrt(static_cast<float>(s.d));
  const int64_t nq = s.B * s.T * s.Hq * s.d, nkv = s.B * s.T * s.Hkv * s.d;
  auto q = test::random_floats(nq, seed, -2.0f, 2.0f);
  auto k = test::random_floats(nkv, seed + 1, -2.0f, 2.0f);
  auto v = test::random_floats(nkv, seed + 2);
  auto dout = test::random_floats(nq, seed + 3);
  std::vector<float> out(nq), lse(s.B * s.Hq * s.T);
  attention_forward(q.data(), k.data(), v.data(), out.data(), lse.data(), s.B, s.T, s.Hq, s.Hkv,
                    s.d, scale);

  const auto qd = test::to_double(q), kd = test::to_double(k), vd = test::to_double(v);
  const auto doutd = test::to_double(dout);
  std::vector<double> out_ref, lse_ref;
  attention_ref(qd, kd, vd, s, scale, out_ref, lse_ref);
  test::expect_close(out, out_ref, 1e-5, 1e-6, "out");
  test::expect_close(lse, lse_ref, 1e-6, 1e-6, "lse");

  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> dq(nq, nan), dk(nkv, nan), dv(nkv, nan);  // must be overwritten
  attention_backward(q.data(), k.data(), v.data(), out.data(), lse.data(), dout.data(), dq.data(),
                     dk.data(), dv.data(), s.B, s.T, s.Hq, s.Hkv, s.d, scale);

  auto loss = [&](const std::vector<double>& qs, const std::vector<double>& ks,
                  const std::vector<double>& vs) {
    std::vector<double> o, l;
    attention_ref(qs, ks, vs, s, scale, o, l);
    double sum = 0;
    for (size_t i = 0; i < o.size(); ++i) sum += doutd[i] * o[i];
    return sum;
  };
  auto idx = [&](size_t n, uint32_t sd) {
    return samples ? test::sample_indices(n, samples, sd) : std::vector<size_t>{};
  };
  const auto iq = idx(nq, seed + 10), ik = idx(nkv, seed + 11), iv = idx(nkv, seed + 12);
  const auto want_dq =
      test::finite_difference([&](const auto& x) { return loss(x, kd, vd); }, qd, iq);
  const auto want_dk =
      test::finite_difference([&](const auto& x) { return loss(qd, x, vd); }, kd, ik);
  const auto want_dv =
      test::finite_difference([&](const auto& x) { return loss(qd, kd, x); }, vd, iv);
  test::expect_close_at(dq, want_dq, iq, 1e-4, 2e-5, "dq");
  test::expect_close_at(dk, want_dk, ik, 1e-4, 2e-5, "dk");
  test::expect_close_at(dv, want_dv, iv, 1e-4, 2e-5, "dv");
}

TEST(Attention, GroupedQuerySmall) {
  check_attention({2, 5, 4, 2, 8}, 0, 1);
}

TEST(Attention, MultiHeadSmall) {
  check_attention({2, 6, 3, 3, 8}, 0, 2);
}

TEST(Attention, SeveralTilesWithPartialLastTile) {
  // T = 150 spans three 64-row tiles; three query heads share one kv head.
  check_attention({1, 150, 3, 1, 16}, 60, 3);
}

TEST(Attention, FirstTokenCopiesItsValue) {
  // Token 0 attends only to itself, whatever the scores: out = v, lse = its own scaled score.
  const int64_t d = 4;
  std::vector<float> q = {1, 2, 3, 4}, k = {0.5f, -1, 2, 0}, v = {7, -3, 0.25f, 9};
  std::vector<float> out(d), lse(1);
  attention_forward(q.data(), k.data(), v.data(), out.data(), lse.data(), 1, 1, 1, 1, d, 0.5f);
  EXPECT_EQ(out, v);
  EXPECT_FLOAT_EQ(lse[0], 0.5f * (0.5f - 2 + 6));
}

TEST(Attention, RejectsUnevenHeadGroups) {
  std::vector<float> x(4 * 3 * 2), lse(4 * 3);
  EXPECT_THROW(
      attention_forward(x.data(), x.data(), x.data(), x.data(), lse.data(), 1, 1, 4, 3, 2, 1.0f),
      Error);
}

}  // namespace
}  // namespace cipherlora
