#include "tensor/rope.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "common/error.h"
#include "tensor/test_util.h"

namespace cipherlora {
namespace {

TEST(RopeTable, MatchesTransformers) {
  // Produced once with /work/main/.venv/bin/python (torch 2.13, transformers 5.23):
  //   cfg = LlamaConfig(hidden_size=576, num_attention_heads=9, num_key_value_heads=3,
  //                     head_dim=64, rope_theta=100000.0, max_position_embeddings=8192)
  //   cos, sin = LlamaRotaryEmbedding(cfg)(torch.zeros(1, 3, 64), torch.tensor([[1, 100, 8191]]))
  //   cos[0, p, i].item(), sin[0, p, i].item()   (columns i and i + 32 are equal)
  struct Ref {
    int pos, i;
    double cos, sin;
  };
  const Ref refs[] = {
      {1, 0, 0.5403023362159729, 0.8414709568023682},
      {1, 1, 0.7662379741668701, 0.64255690574646},
      {1, 7, 0.9967548251152039, 0.08049702644348145},
      {1, 16, 0.9999949932098389, 0.003162272507324815},
      {1, 31, 1.0, 1.4330126759887207e-05},
      {100, 0, 0.8623188734054565, -0.5063656568527222},
      {100, 1, 0.7850497961044312, 0.6194326281547546},
      {100, 7, -0.20301836729049683, 0.9791749119758606},
      {100, 16, 0.9504152536392212, 0.3109836280345917},
      {100, 31, 0.9999989867210388, 0.0014330121921375394},
      {8191, 0, -0.6463904976844788, -0.7630068063735962},
      {8191, 1, -0.19637291133403778, -0.9805293083190918},
      {8191, 7, 0.9457664489746094, 0.32484740018844604},
      {8191, 16, 0.7182748913764954, 0.6957594156265259},
      {8191, 31, 0.9931191205978394, 0.11710872501134872},
  };
  const RopeTable rope = make_rope_table(64, 8192, 100000.0);
  ASSERT_EQ(rope.cos.size(), 8192u * 32u);
  for (const Ref& r : refs) {
    EXPECT_NEAR(rope.cos[r.pos * 32 + r.i], r.cos, 2e-7) << "pos " << r.pos << " i " << r.i;
    EXPECT_NEAR(rope.sin[r.pos * 32 + r.i], r.sin, 2e-7) << "pos " << r.pos << " i " << r.i;
  }
}

TEST(Rope, ForwardRotatesHalves) {
  const int64_t T = 3, H = 2, d = 8, half = 4;
  const RopeTable rope = make_rope_table(d, 16, 10000.0);
  const std::vector<int32_t> pos = {0, 5, 15};
  auto x = test::random_floats(T * H * d, 1);
  std::vector<double> want(x.size());
  for (int64_t t = 0; t < T; ++t)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t i = 0; i < half; ++i) {
        const double angle = pos[t] * std::pow(10000.0, -2.0 * i / d);
        const double a = x[(t * H + h) * d + i], b = x[(t * H + h) * d + i + half];
        want[(t * H + h) * d + i] = a * std::cos(angle) - b * std::sin(angle);
        want[(t * H + h) * d + i + half] = b * std::cos(angle) + a * std::sin(angle);
      }
  rope_forward(x.data(), pos.data(), T, H, rope);
  test::expect_close(x, want, 1e-5, 1e-6, "rotated");
}

TEST(Rope, BackwardIsExactTranspose) {
  // <R x, y> == <x, Rᵀ y> for random x, y: the backward is the adjoint of the forward.
  const int64_t T = 5, H = 3, d = 16;
  const RopeTable rope = make_rope_table(d, 4096, 100000.0);
  const std::vector<int32_t> pos = {0, 1, 7, 100, 4095};
  auto x = test::random_floats(T * H * d, 2), y = test::random_floats(T * H * d, 3);
  auto rx = x, rty = y;
  rope_forward(rx.data(), pos.data(), T, H, rope);
  rope_backward(rty.data(), pos.data(), T, H, rope);
  double lhs = 0, rhs = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    lhs += double(rx[i]) * y[i];
    rhs += double(x[i]) * rty[i];
  }
  EXPECT_NEAR(lhs, rhs, 1e-5 * std::fabs(lhs) + 1e-6);
  // A rotation's transpose is its inverse.
  rope_backward(rx.data(), pos.data(), T, H, rope);
  test::expect_close(rx, test::to_double(x), 1e-5, 1e-6, "backward(forward(x))");
}

TEST(Rope, RejectsBadArguments) {
  EXPECT_THROW(make_rope_table(7, 16, 10000.0), Error);
  EXPECT_THROW(make_rope_table(8, 0, 10000.0), Error);
  const RopeTable rope = make_rope_table(8, 16, 10000.0);
  std::vector<float> x(8);
  const int32_t too_far = 16, negative = -1;
  EXPECT_THROW(rope_forward(x.data(), &too_far, 1, 1, rope), Error);
  EXPECT_THROW(rope_backward(x.data(), &negative, 1, 1, rope), Error);
}

}  // namespace
}  // namespace cipherlora
