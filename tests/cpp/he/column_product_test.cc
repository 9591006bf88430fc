// End-to-end exactness of the encrypted product: client encrypts, the worker multiplies bytes it
// cannot read, the client decrypts — and gets exactly the integer product, computed here by a
// plain triple loop. Also measures the decryption noise against the plan's bound.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "common/error.h"
#include "he/column_client.h"
#include "he/column_plan.h"
#include "he/column_worker.h"
#include "he/wire_format.h"

namespace cipherlora {
namespace {

struct Case {
  int64_t T, K, m;
  int64_t x_bound;
  int extreme;  // 0 random, 1 all values at +bound / +127, 2 alternating signs at the extremes
};

// op(W) [K, m] stored as wq [m, K] (forward layout).
ColumnPlan plan_for(const std::vector<int8_t>& wq, int64_t K, int64_t m, int64_t x_bound) {
  return plan_for_weight(wq.data(), m, K, /*forward=*/true, x_bound);
}

void run_case(const Case& c, std::mt19937_64& rng) {
  std::vector<int32_t> x(c.T * c.K);
  std::vector<int8_t> wq(c.m * c.K);
  std::uniform_int_distribution<int32_t> xd(-static_cast<int32_t>(c.x_bound),
                                            static_cast<int32_t>(c.x_bound));
  std::uniform_int_distribution<int> wd(-127, 127);
  for (size_t i = 0; i < x.size(); ++i)
    x[i] = c.extreme == 0   ? xd(rng)
           : c.extreme == 1 ? static_cast<int32_t>(c.x_bound)
                            : (i % 2 ? 1 : -1) * static_cast<int32_t>(c.x_bound);
  for (size_t i = 0; i < wq.size(); ++i)
    wq[i] = c.extreme == 0   ? static_cast<int8_t>(wd(rng))
            : c.extreme == 1 ? 127
                             : (i % 2 ? 127 : -127);
  const ColumnPlan plan = plan_for(wq, c.K, c.m, c.x_bound);
  if (c.K == 4096 && c.x_bound == (1 << 15)) {
    EXPECT_EQ(plan.log_n, 12) << plan.describe();
  }

  ColumnWorker worker;
  const uint32_t id = worker.add_linear(wq, c.m, c.K);  // [out = m, in = K]
  ColumnClient client;
  ASSERT_EQ(client.add_linear(wq, c.m, c.K), id);
  // Two requests for the same product (fresh mask and noise each): one through the packing
  // encryptor and the column-by-column decryptor, one through encrypt() + serialize() and the
  // parsed response. Both must give the exact product.
  const std::vector<uint8_t> request =
      client.encrypt_to_bytes(x.data(), c.T, c.K, plan, id, Direction::kForward);
  const std::vector<uint8_t> request2 =
      serialize(client.encrypt(x.data(), c.T, c.K, plan, id, Direction::kForward));
  const EncryptedRequest parsed = parse_request(request);  // a well-formed message either way
  EXPECT_EQ(parsed.columns, c.K);
  EXPECT_EQ(parsed.log_q, plan.log_q);
  EXPECT_NE(parse_request(request2).request_id, parsed.request_id);
  std::vector<int64_t> y(c.T * c.m), y_packed(c.T * c.m);
  std::vector<uint8_t> reply(3, 0xEE);  // a dirty buffer the worker reuses
  worker.handle(request, reply);
  client.decrypt(view_response(reply), plan, c.T, c.m, y_packed.data());
  client.decrypt(parse_response(worker.handle(request2)), plan, c.T, c.m, y.data());
  ASSERT_EQ(y, y_packed);
  // 8-bit activations may come as bytes (the backend's 8-bit path): the same product.
  if (std::all_of(x.begin(), x.end(), [](int32_t v) { return v >= -128 && v <= 127; })) {
    const std::vector<int8_t> x8(x.begin(), x.end());
    std::vector<uint8_t> request8;
    client.encrypt_to_bytes(x8.data(), c.T, c.K, plan, id, Direction::kForward, request8);
    std::vector<int64_t> y8(c.T * c.m);
    client.decrypt(view_response(worker.handle(request8)), plan, c.T, c.m, y8.data());
    ASSERT_EQ(y8, y);
    // ... and products that fit 32 bits may come back as int32 (the backend's 8-bit path).
    if (plan.log_q - plan.log_delta <= 32) {
      client.encrypt_to_bytes(x8.data(), c.T, c.K, plan, id, Direction::kForward, request8);
      std::vector<int32_t> y32(c.T * c.m);
      client.decrypt(view_response(worker.handle(request8)), plan, c.T, c.m, y32.data());
      ASSERT_EQ(std::vector<int64_t>(y32.begin(), y32.end()), y);
    }
  }

  for (int64_t t = 0; t < c.T; ++t)
    for (int64_t j = 0; j < c.m; ++j) {
      int64_t want = 0;
      for (int64_t k = 0; k < c.K; ++k) want += int64_t{x[t * c.K + k]} * wq[j * c.K + k];
      ASSERT_EQ(y[t * c.m + j], want) << "T=" << c.T << " K=" << c.K << " m=" << c.m << " t=" << t
                                      << " j=" << j << " " << plan.describe();
    }
}

TEST(ColumnProduct, DecryptsExactlyTheIntegerProduct) {
  std::mt19937_64 rng(7);
  const Case cases[] = {
      {1, 1, 1, 128, 0},           {1, 1, 1, 128, 1},      {5, 3, 2, 128, 2},
      {2048, 7, 5, 128, 0},        {100, 576, 64, 128, 0}, {2048, 576, 9, 128, 1},
      {33, 1536, 17, 128, 2},      {16, 8192, 3, 128, 1},  {8, 4096, 4096, 128, 0},
      {300, 64, 40, 1 << 15, 0},   // 16-bit values that still fit the narrow set
      {300, 4096, 8, 1 << 15, 0},  // 16-bit values over K = 4096: the wide set (N = 4096)
      {4096, 4096, 2, 1 << 15, 2},
  };
  for (const Case& c : cases) run_case(c, rng);
}

// 16-bit activations over K = 4096 give products wider than 32 bits: an int32 output is refused
// with an error, not silently truncated.
TEST(ColumnProduct, Int32OutputRefusedForProductsWiderThan32Bits) {
  const int64_t T = 4, K = 4096, m = 2;
  std::vector<int8_t> wq(m * K, 127);
  std::vector<int32_t> x(T * K, 1 << 15);
  const ColumnPlan plan = plan_for(wq, K, m, 1 << 15);
  ASSERT_GT(plan.log_q - plan.log_delta, 32) << plan.describe();
  ColumnWorker worker;
  const uint32_t id = worker.add_linear(wq, m, K);
  ColumnClient client;
  client.add_linear(wq, m, K);
  const std::vector<uint8_t> request =
      client.encrypt_to_bytes(x.data(), T, K, plan, id, Direction::kForward);
  const std::vector<uint8_t> reply = worker.handle(request);
  std::vector<int32_t> y32(T * m);
  EXPECT_THROW(client.decrypt(view_response(reply), plan, T, m, y32.data()), Error);
}

TEST(ColumnProduct, BackwardDirectionUsesTheTransposedWeight) {
  std::mt19937_64 rng(11);
  const int64_t out = 48, in = 20, T = 64;
  std::vector<int8_t> wq(out * in);
  for (auto& w : wq) w = static_cast<int8_t>(static_cast<int>(rng() % 255) - 127);
  std::vector<int32_t> g(T * out);
  for (auto& v : g) v = static_cast<int32_t>(rng() % 257) - 128;
  // op(W) = wq [out, in] itself: K = out, m = in.
  const ColumnPlan plan = plan_for_weight(wq.data(), out, in, /*forward=*/false, 128);
  ColumnWorker worker;
  const uint32_t id = worker.add_linear(wq, out, in);
  ColumnClient client;
  client.add_linear(wq, out, in);
  const auto req = client.encrypt(g.data(), T, out, plan, id, Direction::kBackward);
  std::vector<int64_t> dx(T * in);
  client.decrypt(parse_response(worker.handle(serialize(req))), plan, T, in, dx.data());
  for (int64_t t = 0; t < T; ++t)
    for (int64_t i = 0; i < in; ++i) {
      int64_t want = 0;
      for (int64_t j = 0; j < out; ++j) want += int64_t{g[t * out + j]} * wq[j * in + i];
      ASSERT_EQ(dx[t * in + i], want);
    }
}

// Over > 10^7 decrypted coefficients, the error stays inside the plan's bound and its spread
// matches the analysis in column_plan.h.
TEST(ColumnProduct, NoiseStaysWithinTheBoundOverTenMillionCoefficients) {
  std::mt19937_64 rng(3);
  const int64_t T = 2048, K = 1536, m = 2560;  // 5.2M coefficients per request, two requests
  std::vector<int8_t> wq(m * K);
  for (auto& w : wq) w = static_cast<int8_t>(static_cast<int>(rng() % 255) - 127);
  const ColumnPlan plan = plan_for(wq, K, m, 128);
  ColumnWorker worker;
  const uint32_t id = worker.add_linear(wq, m, K);
  ColumnClient client;
  client.add_linear(wq, m, K);
  double max_err = 0, sum_sq = 0;
  int64_t n = 0;
  for (int rep = 0; rep < 2; ++rep) {
    std::vector<int32_t> x(T * K);
    for (auto& v : x) v = static_cast<int32_t>(rng() % 257) - 128;
    const auto req = client.encrypt(x.data(), T, K, plan, id, Direction::kForward);
    std::vector<int64_t> y(T * m), err(T * m);
    client.decrypt(parse_response(worker.handle(serialize(req))), plan, T, m, y.data(), err.data());
    for (int64_t e : err)
      max_err = std::max(max_err, std::abs(double(e))), sum_sq += double(e) * e, ++n;
  }
  ASSERT_GE(n, 10'000'000);
  const double delta = std::ldexp(1.0, plan.log_delta);
  // Predicted spread: encryption noise σ·‖W_j‖₂ (about 127/√3·√K for uniform weights) plus the
  // rounding of B (uniform: variance step²/12). No mask travels, so nothing else adds.
  const double w_rms = std::sqrt(K * (127.0 * 128.0 / 3.0));
  const double sb = std::ldexp(1.0, plan.log_q - plan.log_q_b);
  const double predicted = std::sqrt(3.2 * 3.2 * w_rms * w_rms + sb * sb / 12);
  const double measured = std::sqrt(sum_sq / n);
  std::printf(
      "noise: %lld coefficients, rms %.0f (predicted %.0f), max %.0f = %.2f bits below delta/2\n",
      static_cast<long long>(n), measured, predicted, max_err, std::log2(delta / 2 / max_err));
  EXPECT_NEAR(measured / predicted, 1.0, 0.1);
  EXPECT_LT(max_err, 3 * delta / 8);
}

TEST(ColumnProduct, MalformedOrForeignResponsesAreRefusedAndRekey) {
  std::vector<int8_t> wq(4 * 3, 1);
  const ColumnPlan plan = plan_columns(3, 128, 3, std::sqrt(3.0));
  ColumnWorker worker;
  const uint32_t id = worker.add_linear(wq, 4, 3);
  ColumnClient client;
  client.add_linear(wq, 4, 3);
  std::vector<int32_t> x(2 * 3, 5);
  const auto req = client.encrypt(x.data(), 2, 3, plan, id, Direction::kForward);
  EncryptedResponse resp = parse_response(worker.handle(serialize(req)));
  resp.columns = 3;  // a response for another shape
  std::vector<int64_t> y(2 * 4);
  EXPECT_THROW(client.decrypt(resp, plan, 2, 4, y.data()), Error);
  EXPECT_EQ(client.rekeys(), 1);
  // The packed path refuses it the same way.
  const auto req2 = client.encrypt(x.data(), 2, 3, plan, id, Direction::kForward);
  const std::vector<uint8_t> reply2 = worker.handle(serialize(req2));
  EXPECT_THROW(client.decrypt(view_response(reply2), plan, 2, 3, y.data()), Error);
  EXPECT_EQ(client.rekeys(), 2);
  // A response decrypts once: a replay, or an answer to a request never sent, is refused.
  const auto req3 = client.encrypt(x.data(), 2, 3, plan, id, Direction::kForward);
  const std::vector<uint8_t> reply3 = worker.handle(serialize(req3));
  client.decrypt(view_response(reply3), plan, 2, 4, y.data());
  EXPECT_EQ(y, std::vector<int64_t>(2 * 4, 15));
  EXPECT_THROW(client.decrypt(view_response(reply3), plan, 2, 4, y.data()), Error);
  EXPECT_EQ(client.rekeys(), 3);
  EncryptedResponse forged = parse_response(reply3);
  forged.request_id = 1000;
  EXPECT_THROW(client.decrypt(forged, plan, 2, 4, y.data()), Error);
  EXPECT_EQ(client.rekeys(), 4);
  // The client refuses to encrypt for a linear it does not know, or with the wrong width.
  EXPECT_THROW(client.encrypt(x.data(), 2, 3, plan, 9, Direction::kForward), Error);
  EXPECT_THROW(client.encrypt(x.data(), 2, 3, plan, id, Direction::kBackward), Error);
  // Requests naming an unknown linear, or the wrong width, are refused by the worker.
  EncryptedRequest bad = req;
  bad.linear_id = 9;
  EXPECT_THROW(worker.handle(serialize(bad)), Error);
  EncryptedRequest bad5 = req;
  bad5.columns = 5;
  bad5.body.resize(5 * plan.n());
  EXPECT_THROW(worker.handle(serialize(bad5)), Error);
}

}  // namespace
}  // namespace cipherlora
